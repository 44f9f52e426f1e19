"""The report writer's bulk statements: the same rows as save()/bulk_create would leave, on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta

import pytest

from nguon.broadcast.models import Device, DeviceLog
from nguon.broadcast.tests.fleet_helpers import make_device
from nguon.lib.bulkwrite import insert_objects, update_rows


@pytest.fixture
def devices(cast):
    return [make_device(cast.commune, f"BW-{i:03d}") for i in range(5)]


def test_update_rows_sets_each_row_its_own_values(devices):
    at = datetime(2026, 12, 3, 8, 30, tzinfo=UTC)
    first, second, *rest = devices
    rows = [
        # NULLs in the first row: PostgreSQL must not guess the VALUES column types from them.
        (first.pk, None, None, "", {}),
        (second.pk, at, 42, "Bản tin sáng", {"volume": 80, "note": "Đồng Nai"}),
    ]
    changed = update_rows(Device, ["last_seen_at", "clock_skew_ms", "current_item", "last_status"], rows,
                          constants={"is_online": True})  # fmt: skip
    assert changed == 2
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.last_seen_at, first.clock_skew_ms, first.current_item, first.last_status) == (None, None, "", {})
    assert (second.last_seen_at, second.clock_skew_ms, second.current_item) == (at, 42, "Bản tin sáng")
    assert second.last_status == {"volume": 80, "note": "Đồng Nai"}
    assert first.is_online and second.is_online
    untouched = Device.objects.get(pk=rest[0].pk)
    assert not untouched.is_online and untouched.last_seen_at is None


def test_update_rows_splits_long_lists_into_several_statements(devices, monkeypatch):
    monkeypatch.setattr("nguon.lib.bulkwrite.MAX_PARAMS", 5)  # two parameters a row: two rows a statement
    at = datetime(2026, 12, 3, 8, 30, tzinfo=UTC)
    rows = [(d.pk, at + timedelta(minutes=i)) for i, d in enumerate(devices)]
    assert update_rows(Device, ["last_seen_at"], rows) == len(devices)
    seen = dict(Device.objects.filter(pk__in=[d.pk for d in devices]).values_list("pk", "last_seen_at"))
    assert seen == dict(rows)


def test_update_rows_refuses_a_short_row(devices):
    with pytest.raises(ValueError):
        update_rows(Device, ["last_seen_at", "clock_skew_ms"], [(devices[0].pk, None)])


def test_insert_objects_skips_conflicts_and_keeps_the_rest(devices):
    at = datetime(2026, 12, 3, 8, 30, tzinfo=UTC)
    device = devices[0]
    DeviceLog.objects.create(device=device, seq=1, at=at, level="info", message="đã có", received_at=at)
    logs = [
        DeviceLog(device=device, seq=seq, at=at, level="info", message=f"bản ghi {seq}", received_at=at)
        for seq in (1, 2, 3)
    ]
    insert_objects(DeviceLog, logs, ignore_conflicts=True)
    stored = dict(DeviceLog.objects.filter(device=device).values_list("seq", "message"))
    assert stored == {1: "đã có", 2: "bản ghi 2", 3: "bản ghi 3"}
    row = DeviceLog.objects.get(device=device, seq=2)
    assert row.at == at and row.received_at == at and row.level == "info"
