"""Compile once per audience: devices that share what their schedule depends on share one compiled schedule, and each
device's manifest is byte for byte what compiling it alone gives (protocol §3: the signature covers the exact bytes).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from unittest import mock

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nguon.broadcast import manifest
from nguon.broadcast.keys import signer
from nguon.broadcast.manifest import build, compile_devices, compile_documents
from nguon.broadcast.models import CompiledManifest, Device, DeviceGroup, DeviceKind, PushEvent, Slot, SlotItem
from nguon.lib.signing import canonical, verify

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
KINDS = [DeviceKind.SPEAKER, DeviceKind.BOARD]
# Names with what JSON escapes or keeps as is (quotes, backslashes, Vietnamese, controls, astral characters; no
# NUL: PostgreSQL text cannot hold it).
NAMES = st.text(alphabet=st.sampled_from('aZ "\\/\nđĐạệ😀\u2028\x01'), min_size=1, max_size=12)


class _Rollback(Exception):
    pass


def _slots(draw, units, groups):
    made = []
    for n in range(draw(st.integers(0, 5))):
        start = time(draw(st.integers(0, 22)), draw(st.sampled_from([0, 15, 30])))
        weekly = draw(st.booleans())
        slot = Slot.objects.create(
            unit=draw(st.sampled_from(units)),
            name=draw(NAMES),
            group=draw(st.sampled_from([None, *groups])),
            device_kind=draw(st.sampled_from(["", *KINDS])),
            recurrence="weekdays" if weekly else "daily",
            weekdays=",".join(str(d) for d in draw(st.sets(st.integers(1, 7), min_size=1))) if weekly else "",
            start_date=(NOW - timedelta(days=draw(st.integers(0, 3)))).date(),
            end_date=draw(st.sampled_from([None, (NOW + timedelta(days=1)).date()])),
            start_time=start,
            end_time=time(start.hour + 1, start.minute),
            volume=draw(st.sampled_from([None, 40, 95])),
        )
        for position in range(draw(st.integers(0, 2))):
            SlotItem.objects.create(
                slot=slot, position=position, kind="relay", stream_url=f"https://example.org/{n}/{position}",
                stream_name=draw(st.sampled_from(["", "VOV1"])),
            )  # fmt: skip
        made.append(slot)
    return made


def _devices(draw, units, groups):
    made = []
    for n in range(draw(st.integers(1, 8))):
        device = Device.objects.create(
            unit=draw(st.sampled_from(units)),
            code=f"P-{n}",
            name=draw(NAMES),
            kind=draw(st.sampled_from(KINDS)),
            volume=draw(st.sampled_from([60, 80])),
            grace_seconds=draw(st.sampled_from([120, 180])),
        )
        device.groups.set(draw(st.sets(st.sampled_from(groups))))
        made.append(device)
    return made


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), hours=st.integers(0, 96), version=st.integers(1, 10**12))
def test_audience_compilation_gives_the_bytes_of_compiling_each_device_alone(cast, data, hours, version):
    now = NOW + timedelta(hours=hours)
    try:
        with transaction.atomic():  # each example starts from the cast alone
            units = [cast.province, cast.commune, cast.other_commune]
            groups = [DeviceGroup.objects.create(unit=cast.province, name=f"Nhóm {i}") for i in range(3)]
            _slots(data.draw, units, groups)
            _devices(data.draw, units, groups)
            devices = list(Device.objects.select_related("unit").prefetch_related("groups").order_by("pk"))
            # Facts read in bulk (plain values), against each device read as a model instance and built alone.
            run = compile_documents(manifest.read_facts([d.pk for d in devices]), now)
            for device in devices:
                alone = build(Device.objects.select_related("unit").get(pk=device.pk), now)
                assert run.documents[device.pk] == canonical(alone)
                assert manifest._with_version(run.documents[device.pk], version) == canonical(
                    {**alone, "version": version}
                )
            assert run.audiences == len({manifest.Facts.of(d).audience for d in devices})
            # Stored and signed: the body is the per-device document with its version, the signature covers it.
            changed = compile_devices([d.pk for d in devices], now)
            assert sorted(changed) == [d.pk for d in devices]
            for row in CompiledManifest.objects.filter(device__in=devices):
                alone = build(Device.objects.select_related("unit").get(pk=row.device_id), now)
                assert bytes(row.body) == canonical({**alone, "version": row.version})
                assert verify(signer().public_key_b64, bytes(row.body), row.signature)
            raise _Rollback
    except _Rollback:
        pass


def test_ten_thousand_devices_in_a_few_audiences_cost_a_few_compilations(cast):
    groups = [DeviceGroup.objects.create(unit=cast.province, name=f"Nhóm {i}") for i in range(2)]
    units = [cast.commune, cast.other_commune]
    Slot.objects.create(unit=cast.province, name="Thời sự", start_date=NOW.date(), start_time=time(5, 30),
                        end_time=time(6, 0))  # fmt: skip
    Slot.objects.create(unit=cast.commune, name="Nhóm 0", group=groups[0], start_date=NOW.date(),
                        start_time=time(17, 0), end_time=time(17, 30))  # fmt: skip
    Device.objects.bulk_create(
        [Device(unit=units[i % 2], code=f"X-{i:05d}", name=f"Cụm {i}", kind=KINDS[i % 4 // 2]) for i in range(10_000)],
        batch_size=1000,
    )
    through = Device.groups.through
    ids = list(Device.objects.order_by("pk").values_list("pk", flat=True))
    through.objects.bulk_create(
        [through(device_id=pk, devicegroup_id=groups[i % 3 % 2].pk) for i, pk in enumerate(ids) if i % 3],
        batch_size=1000,
    )
    # 2 units × 2 kinds × 3 group sets (none, group 0, group 1) = 12 audiences.
    with mock.patch.object(manifest, "_slot_entries", wraps=manifest._slot_entries) as built:
        changed = compile_devices(ids, NOW)
    assert built.call_count == 12
    assert sorted(changed) == ids
    assert CompiledManifest.objects.count() == 10_000
    assert PushEvent.objects.filter(type="manifest").count() == 1
    # Every device has its own header over the shared schedule, and its own signature.
    sample = CompiledManifest.objects.select_related("device").get(device__code="X-00004")
    document = json.loads(bytes(sample.body))
    assert document["device"]["code"] == "X-00004" and document["version"] == 1
    assert verify(signer().public_key_b64, bytes(sample.body), sample.signature)
    # Nothing changed: nothing stored, no push event; then one change reaches its audiences only.
    assert compile_devices(ids, NOW) == []
    assert PushEvent.objects.filter(type="manifest").count() == 1
    Slot.objects.filter(name="Nhóm 0").update(name="Nhóm 0 (mới)")
    with mock.patch.object(manifest, "_slot_entries", wraps=manifest._slot_entries) as built:
        changed = compile_devices(ids, NOW)
    assert built.call_count == 12
    expected = set(Device.objects.filter(unit=cast.commune, groups=groups[0]).values_list("pk", flat=True))
    assert set(changed) == expected
    assert set(CompiledManifest.objects.filter(version=2).values_list("device_id", flat=True)) == expected


def test_versions_grow_and_a_document_stored_meanwhile_is_not_stored_again(cast):
    device = Device.objects.create(unit=cast.commune, code="V-1", name="Cụm V")
    Slot.objects.create(unit=cast.commune, name="Sáng", start_date=NOW.date(), start_time=time(5), end_time=time(6))
    run = compile_documents(manifest.read_facts([device.pk]), NOW)
    assert manifest.store(run.documents) == [device.pk]
    # A second run that computed the same document before the first stored it: nothing new.
    assert manifest.store(run.documents) == []
    Slot.objects.update(name="Sáng (mới)")
    assert compile_devices([device.pk], NOW) == [device.pk]
    row = CompiledManifest.objects.get(device=device)
    assert row.version == 2 and row.etag.startswith('"2-')
