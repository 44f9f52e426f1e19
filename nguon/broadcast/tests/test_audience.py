"""Push events are bound to their audience (protocol §4.2): the signed payload names the units, groups and codes of
the devices it was sent to, so a captured event cannot be replayed to another device."""

from __future__ import annotations

import pytest

from nguon.broadcast import actions, device_api
from nguon.broadcast.actions import GroupData
from nguon.broadcast.audience import CODES_ONLY, audience_for
from nguon.broadcast.manifest import build
from nguon.broadcast.models import Device, PushEvent
from nguon.broadcast.tests.device_helpers import enrolment_code, make_device, open_event, parse_frames
from nguon.units.models import Unit

BASE = "/device/v1"


def fleet(cast, unit, prefix: str, n: int) -> list[Device]:
    return [
        actions.do_create_device(
            unit=unit,
            data=actions.DeviceData(code=f"{prefix}-{i:02d}", name=f"Cụm loa {prefix} {i}"),
            acting_user=cast.province_admin,
        )
        for i in range(n)
    ]


def ids(devices) -> list[int]:
    return [d.pk for d in devices]


def test_a_few_devices_are_named_by_code(cast):
    devices = fleet(cast, cast.commune, "BH", 3)
    assert audience_for(ids(devices[:2])) == {"devices": ["BH-00", "BH-01"]}


def test_every_device_of_a_unit_is_named_by_the_unit_and_every_device_of_the_province_by_the_province(cast):
    here = fleet(cast, cast.commune, "BH", CODES_ONLY + 2)
    there = fleet(cast, cast.other_commune, "TB", CODES_ONLY + 1)
    speakers = {"kinds": ["speaker"]}  # they are all loudspeakers: the units stand for their loudspeakers
    assert audience_for(ids(here)) == {"units": [cast.commune.code], **speakers}
    assert audience_for(ids(here + there)) == {"units": [cast.province.code], **speakers}
    # All of one commune and two of the other: the commune, then the two by code.
    assert audience_for(ids(here + there[:2])) == {
        "units": [cast.commune.code],
        "devices": ["TB-00", "TB-01"],
        **speakers,
    }
    # A device out of service does not stop its unit from being named (it gets no events anyway).
    Device.objects.filter(pk=here[0].pk).update(is_active=False)
    assert audience_for(ids(here[1:])) == {"units": [cast.commune.code], **speakers}
    # Every device (an empty list): the root units.
    assert audience_for([]) == {"units": sorted(Unit.objects.filter(parent=None).values_list("code", flat=True))}


def test_a_whole_group_is_named_by_the_group(cast):
    here = fleet(cast, cast.commune, "BH", CODES_ONLY)
    there = fleet(cast, cast.other_commune, "TB", CODES_ONLY)
    mixed = here[:5] + there[:5]
    group = actions.do_save_group(
        None, unit=cast.province, data=GroupData(name="Chợ", devices=mixed), acting_user=cast.province_admin
    )
    assert audience_for(ids(mixed)) == {"groups": [group.pk], "kinds": ["speaker"]}
    # The group and one more device: the group, and the device by code; a group not wholly sent to is not named.
    assert audience_for(ids(mixed + here[5:6])) == {"groups": [group.pk], "devices": ["BH-05"], "kinds": ["speaker"]}
    partial = audience_for(ids(mixed[:-1] + here[5:7]))
    assert "groups" not in partial and len(partial["devices"]) == 11


def test_a_device_learns_its_units_and_groups_at_enrolment_and_in_its_manifest(cast, client):
    device = make_device(cast)
    group = actions.do_save_group(
        None, unit=cast.commune, data=GroupData(name="Loa chợ", devices=[device]), acting_user=cast.commune_admin
    )
    device_api.enrol_limiter.reset()
    response = client.post(f"{BASE}/enrol", {"code": enrolment_code(cast, device)}, content_type="application/json")
    assert response.json()["device"] == {
        "code": device.code,
        "name": device.name,
        "kind": "speaker",
        "unit": "26068",
        "units": ["75", "26068"],
        "groups": [group.pk],
    }
    manifest = build(Device.objects.select_related("unit").get(pk=device.pk))
    assert (manifest["device"]["units"], manifest["device"]["groups"]) == (["75", "26068"], [group.pk])


def test_every_signed_event_carries_its_audience(cast, client):
    here = fleet(cast, cast.commune, "BH", CODES_ONLY + 1)
    fleet(cast, cast.other_commune, "TB", 1)  # so that the province is not wholly in the audience
    device_api.enrol_limiter.reset()
    answer = client.post(f"{BASE}/enrol", {"code": enrolment_code(cast, here[0])}, content_type="application/json")
    token, public_key = answer.json()["token"], answer.json()["public_key"]
    response = client.get(f"{BASE}/events", HTTP_AUTHORIZATION=f"Bearer {token}")
    chunks = iter(response.streaming_content)
    assert next(chunks).startswith(b": connected")

    actions.do_push_command(here, type="volume", body={"volume": 30}, acting_user=cast.approver, unit=cast.commune)
    actions.do_push_command(here[:1], type="stop", body={}, acting_user=cast.approver, unit=cast.commune)
    payloads = [open_event(parse_frames(next(chunks).decode())[0]["data"], public_key) for _ in range(2)]
    assert [(p["type"], p["device"], p["audience"]) for p in payloads] == [
        ("volume", "*", {"units": ["26068"], "kinds": ["speaker"]}),
        ("stop", "BH-00", {"devices": ["BH-00"]}),
    ]
    # Only the gateway's own rows (never signed, never sent) have none.
    assert set(PushEvent.objects.filter(audience={}).values_list("type", flat=True)) <= PushEvent.UNSIGNED_TYPES


@pytest.mark.parametrize("kind", ["revoke"])
def test_internal_events_get_no_audience(cast, kind):
    device = make_device(cast)
    event = PushEvent.objects.create(type=kind, device_ids=[device.pk])
    assert event.audience == {}


def test_a_manifest_event_for_many_scattered_devices_names_their_units(cast):
    from nguon.broadcast.audience import LOOSE_CODES

    here = fleet(cast, cast.commune, "BH", LOOSE_CODES + 2)
    there = fleet(cast, cast.other_commune, "TB", 2)
    scattered = ids(here[:-1])  # all but one of the commune: no whole unit
    assert len(audience_for(scattered)["devices"]) == LOOSE_CODES + 1  # a command names each of them
    assert audience_for(scattered, loose=True) == {"units": [cast.commune.code], "kinds": ["speaker"]}
    event = PushEvent.objects.create(type="manifest", device_ids=scattered + ids(there[:1]))
    assert event.audience == {"units": sorted([cast.commune.code, cast.other_commune.code]), "kinds": ["speaker"]}


def test_an_event_for_one_kind_names_the_units_with_that_kind(cast):
    boards = [
        actions.do_create_device(
            unit=cast.commune,
            data=actions.DeviceData(code=f"EB-{i:02d}", name=f"Bảng tin {i}", kind="board"),
            acting_user=cast.province_admin,
        )
        for i in range(CODES_ONLY + 1)
    ]
    fleet(cast, cast.commune, "BH", CODES_ONLY + 1)  # loudspeakers in the same commune
    fleet(cast, cast.other_commune, "TB", 1)  # and one in the other: the province is not wholly meant
    # The boards' alert event names the commune and the kind, not nine codes (it cannot name the commune alone:
    # its loudspeakers are not meant). These are the province's only boards, so the province is named.
    assert audience_for(ids(boards)) == {"units": [cast.province.code], "kinds": ["board"]}
    everyone = Device.objects.filter(unit=cast.commune)
    assert audience_for(list(everyone.values_list("pk", flat=True))) == {"units": [cast.commune.code]}
