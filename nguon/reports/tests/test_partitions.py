"""Raw report records kept for the retention: monthly partitions on PostgreSQL, batched deletes on SQLite.

The PostgreSQL tests run when NGUON_TEST_DATABASE_URL points at PostgreSQL (the migration partitions the tables).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from nguon.alerts.models import AlertReceipt
from nguon.broadcast.models import DeviceLog, Heartbeat, PlayRecord
from nguon.broadcast.reports import ingest, parse
from nguon.broadcast.tests.device_helpers import batch_body, heartbeat, make_device
from nguon.reports import partitions
from nguon.reports.models import DeviceDay, UnitDay

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions exist on PostgreSQL only")
sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL drops whole months instead")

SEPTEMBER = datetime(2026, 9, 20, 3, 0, tzinfo=UTC)
OCTOBER = datetime(2026, 10, 3, 3, 0, tzinfo=UTC)
NOVEMBER = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)


@pytest.fixture
def device(cast):
    return make_device(cast, "PART-1")


def store(device, *records, now):
    batch = parse(batch_body(*records), device_id=device.pk, now=now)
    ingest([batch])
    return batch


def beats(first_seq: int, count: int, now: datetime) -> list[dict]:
    return [heartbeat(first_seq + i, now - timedelta(minutes=count - i)) for i in range(count)]


def located(table: str) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text, count(*) FROM {table} GROUP BY 1")  # noqa: S608
        return dict(cursor.fetchall())


def rollups() -> list[tuple]:
    return sorted(DeviceDay.objects.values_list("device_id", "day", "online_minutes")) + sorted(
        UnitDay.objects.values_list("unit_id", "day", "online_minutes")
    )


@postgres_only
def test_the_migration_partitioned_every_raw_table_with_months_ahead_and_a_default():
    for table in partitions.RAW_TABLES:
        assert partitions.is_partitioned(table)
        names = [p.name for p in partitions.partitions(table)]
        assert names[-1] == f"{table}_default"
        assert len(names) >= 4  # this month, two ahead, the default
    assert partitions.ensure_partitions() == []  # nothing missing


@postgres_only
def test_rows_land_in_the_partition_of_the_month_they_were_received(device):
    created = partitions.ensure_partitions(months_ahead=1, now=SEPTEMBER)
    assert "broadcast_heartbeat_p2026_09" in created and "alerts_alertreceipt_p2026_10" in created
    store(device, *beats(1, 3, SEPTEMBER), now=SEPTEMBER)
    store(device, *beats(4, 2, OCTOBER), now=OCTOBER)
    assert located("broadcast_heartbeat") == {"broadcast_heartbeat_p2026_09": 3, "broadcast_heartbeat_p2026_10": 2}


@postgres_only
def test_dropping_an_expired_month_removes_exactly_its_rows_and_keeps_the_rollups(device):
    partitions.ensure_partitions(months_ahead=2, now=SEPTEMBER)
    store(device, *beats(1, 3, SEPTEMBER), now=SEPTEMBER)
    store(device, *beats(4, 2, OCTOBER), now=OCTOBER)
    store(device, *beats(6, 4, NOVEMBER), now=NOVEMBER)
    figures = rollups()
    assert sum(row[2] for row in figures) == 2 * 9  # device days and unit days

    # 35 days before 10 November is 6 October: September ended before it, October did not.
    planned = partitions.drop_expired(35, now=NOVEMBER, dry_run=True)
    assert {e.table: e.partitions for e in planned}["broadcast_heartbeat"] == ["broadcast_heartbeat_p2026_09"]
    assert Heartbeat.objects.count() == 9
    done = partitions.drop_expired(35, now=NOVEMBER)
    assert {e.table: e.partitions for e in done}["broadcast_heartbeat"] == ["broadcast_heartbeat_p2026_09"]
    assert sorted(Heartbeat.objects.values_list("seq", flat=True)) == list(range(4, 10))
    assert "broadcast_heartbeat_p2026_09" not in {p.name for p in partitions.partitions("broadcast_heartbeat")}
    assert rollups() == figures


@postgres_only
def test_a_batch_resent_in_the_next_month_is_still_stored_once(device):
    partitions.ensure_partitions(months_ahead=1, now=SEPTEMBER)
    late_september = datetime(2026, 9, 30, 23, 59, tzinfo=UTC)
    records = [*beats(1, 3, late_september), {"seq": 4, "type": "fault", "at": "2026-09-30T23:58:00Z", "code": "x"}]
    first = store(device, *records, now=late_september)
    again = store(device, *records, now=late_september + timedelta(minutes=2))  # lands in October's partition
    assert (first.stored, again.stored, again.duplicates) == (4, 0, 4)
    assert Heartbeat.objects.count() == 3 and DeviceLog.objects.count() == 1
    assert sum(DeviceDay.objects.values_list("online_minutes", flat=True)) == 3


@postgres_only
def test_the_default_partition_catches_a_far_future_row_until_its_month_exists(device):
    far = datetime(2035, 1, 15, tzinfo=UTC)
    Heartbeat.objects.create(device=device, seq=1, at=far, received_at=far)
    PlayRecord.objects.create(device=device, seq=2, occurrence="1@x", item="1", started_at=far, result="played",
                              received_at=far)  # fmt: skip
    assert located("broadcast_heartbeat") == {"broadcast_heartbeat_default": 1}
    created = partitions.ensure_partitions(months_ahead=0, now=far)
    assert "broadcast_heartbeat_p2035_01" in created
    assert located("broadcast_heartbeat") == {"broadcast_heartbeat_p2035_01": 1}
    assert located("broadcast_playrecord") == {"broadcast_playrecord_p2035_01": 1}


@sqlite_only
def test_sqlite_deletes_rows_older_than_the_retention_in_batches(device, monkeypatch):
    monkeypatch.setattr(partitions, "BATCH", 2)
    now = NOVEMBER
    cutoff = now - timedelta(days=40)
    for seq, received in enumerate([cutoff - timedelta(days=3), cutoff - timedelta(seconds=1)] * 3, start=1):
        Heartbeat.objects.create(device=device, seq=seq, at=received, received_at=received)
    AlertReceipt.objects.create(device=device, seq=9, alert_id=1, state="played", at=cutoff, received_at=cutoff)
    Heartbeat.objects.create(device=device, seq=10, at=cutoff, received_at=cutoff + timedelta(seconds=1))
    assert partitions.drop_expired(40, now=now, dry_run=True)[0].rows == 6
    assert Heartbeat.objects.count() == 7

    done = {e.table: e.rows for e in partitions.drop_expired(40, now=now)}
    assert done["broadcast_heartbeat"] == 6 and done["alerts_alertreceipt"] == 0
    assert list(Heartbeat.objects.values_list("seq", flat=True)) == [10]
    assert AlertReceipt.objects.count() == 1


def test_the_command_shows_ensures_and_drops_with_a_dry_run(device):
    old = NOVEMBER - timedelta(days=500)
    Heartbeat.objects.create(device=device, seq=1, at=old, received_at=old)
    out = StringIO()
    call_command("reports_partitions", stdout=out)
    assert "retention: 400 days" in out.getvalue() and "broadcast_heartbeat" in out.getvalue()
    call_command("reports_partitions", "ensure", stdout=out)
    out = StringIO()
    call_command("reports_partitions", "drop-expired", "--dry-run", stdout=out)
    assert "broadcast_heartbeat: would drop" in out.getvalue()
    assert Heartbeat.objects.count() == 1
    call_command("reports_partitions", "drop-expired", stdout=StringIO())
    assert Heartbeat.objects.count() == 0
    with pytest.raises(CommandError):
        call_command("reports_partitions", "drop-expired", "--retention-days", "10")


def test_the_daily_task_ensures_months_and_drops_what_expired(device):
    from huey.contrib.djhuey import HUEY

    from nguon.reports.retention_tasks import keep_raw_records

    task_class = keep_raw_records.task_class
    assert any(isinstance(task, task_class) for task in HUEY._registry.periodic_tasks)
    old = datetime.now(UTC) - timedelta(days=800)
    Heartbeat.objects.create(device=device, seq=1, at=old, received_at=old)
    keep_raw_records()  # tasks run inline in tests
    assert not Heartbeat.objects.exists()
