"""Roll-ups: counted as device records are stored, planned from schedules, recounted on publish; the TTCS table."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from nguon.broadcast.reports import ingest, parse
from nguon.broadcast.tests.device_helpers import batch_body, heartbeat, iso, make_device, save_slot, slot_data
from nguon.broadcast.tests.schedule_helpers import published
from nguon.reports import catalogue, periods, rollup
from nguon.reports.models import ContentMonth, DeviceDay, UnitDay

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 20, 0, 10, tzinfo=HCM)  # ten minutes after local midnight


def store(device, *records, now=NOW):
    batch = parse(batch_body(*records), device_id=device.pk, now=now)
    ingest([batch])
    return batch


def play(seq, start, seconds, result="played"):
    return {
        "seq": seq,
        "type": "play",
        "occurrence": f"1@{start.date().isoformat()}",
        "item": "41",
        "started_at": iso(start),
        "ended_at": iso(start + timedelta(seconds=seconds)),
        "result": result,
    }


def counters(model, **keys):
    row = model.objects.get(**keys)
    names = ("online_minutes", "played_items", "played_seconds", "partial_items", "failed_items", "faults")
    return {name: getattr(row, name) for name in names}


@pytest.fixture
def device(cast):
    return make_device(cast, "BH-900")


def test_records_count_on_their_local_day_once(cast, device):
    before_midnight = NOW - timedelta(minutes=10, seconds=30)  # 23:59:30 on the 19th, local time
    records = [
        heartbeat(1, before_midnight),
        heartbeat(2, NOW - timedelta(minutes=5)),
        heartbeat(3, NOW - timedelta(minutes=4)),
        play(4, before_midnight - timedelta(minutes=20), 120),
        play(5, NOW - timedelta(minutes=9), 30, "partial"),
        play(6, NOW - timedelta(minutes=8), 0, "failed"),
        {"seq": 7, "type": "fault", "at": iso(NOW - timedelta(minutes=1)), "code": "amplifier", "message": ""},
    ]
    store(device, *records)
    again = store(device, *records[3:], heartbeat(8, NOW))  # re-sent with one new record
    assert (again.stored, again.duplicates) == (1, 4)

    day19 = {"online_minutes": 1, "played_items": 1, "played_seconds": 120, "partial_items": 0, "failed_items": 0,
             "faults": 0}  # fmt: skip
    day20 = {"online_minutes": 3, "played_items": 0, "played_seconds": 30, "partial_items": 1, "failed_items": 1,
             "faults": 1}  # fmt: skip
    assert counters(DeviceDay, device=device, day=date(2026, 11, 19)) == day19
    assert counters(DeviceDay, device=device, day=date(2026, 11, 20)) == day20
    assert counters(UnitDay, unit=cast.commune, day=date(2026, 11, 20)) == day20
    assert DeviceDay.objects.get(device=device, day=date(2026, 11, 20)).unit_id == cast.commune.pk
    # The same figures straight from the raw rows, and a rebuild changes nothing.
    raw = rollup.raw_counts(date(2026, 11, 19), date(2026, 11, 20))
    assert raw[(device.pk, date(2026, 11, 20))]["online_minutes"] == 3
    rollup.rebuild(date(2026, 11, 19), date(2026, 11, 20))
    assert counters(DeviceDay, device=device, day=date(2026, 11, 20)) == day20
    assert counters(UnitDay, unit=cast.commune, day=date(2026, 11, 19)) == day19


def test_a_second_device_adds_to_the_commune_day(cast, device):
    other = make_device(cast, "BH-901")
    store(device, heartbeat(1, NOW - timedelta(minutes=2)))
    store(other, heartbeat(1, NOW - timedelta(minutes=2)), heartbeat(2, NOW - timedelta(minutes=1)))
    assert UnitDay.objects.get(unit=cast.commune, day=NOW.date()).online_minutes == 3
    assert DeviceDay.objects.filter(day=NOW.date()).count() == 2


def test_planning_sets_the_scheduled_items_and_airtime(cast, device):
    with time_machine.travel(datetime(2026, 11, 20, 3, 0, tzinfo=HCM), tick=False):
        save_slot(cast, slot_data(start=time(5, 30)))
        assert rollup.plan_day(date(2026, 11, 20)) >= 1
        assert rollup.plan_day(date(2026, 11, 20)) >= 1  # planning again sets, never adds
    row = DeviceDay.objects.get(device=device, day=date(2026, 11, 20))
    assert (row.planned_items, row.planned_seconds) == (1, 30 * 60)
    unit_row = UnitDay.objects.get(unit=cast.commune, day=date(2026, 11, 20))
    assert (unit_row.planned_items, unit_row.planned_seconds) == (1, 30 * 60)


def test_published_bulletins_are_counted_per_unit_month_class_and_level(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # counted after the publishing transaction commits
        published(cast, priority="priority")
        published(cast, unit=cast.commune, title="Lịch tiêm chủng")
    rows = {(r.unit_id, r.priority, r.source_level): r.bulletins for r in ContentMonth.objects.all()}
    assert rows == {(cast.province.pk, "priority", "province"): 1, (cast.commune.pk, "normal", "commune"): 1}
    # Recounting the bucket again changes nothing (the receiver may run twice).
    month = ContentMonth.objects.get(unit=cast.province).month
    rollup.refresh_content_month(cast.province.pk, month)
    assert ContentMonth.objects.filter(unit=cast.province).count() == 1


@time_machine.travel(NOW, tick=False)
def test_the_ttcs_table_sums_each_area_from_the_roll_ups(cast, device, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        published(cast, unit=cast.commune, priority="emergency", title="Bão số 9")
    store(
        device,
        *(heartbeat(i, NOW - timedelta(minutes=i)) for i in range(1, 7)),
        play(7, NOW - timedelta(minutes=40), 1800),
    )
    period = periods.parse("month", f"{NOW:%Y-%m}")
    report = catalogue.build("ttcs", cast.province, period)
    rows = {row["code"]: row for row in report.sections[0].rows}
    assert set(rows) == {cast.commune.code, cast.other_commune.code}
    mine = rows[cast.commune.code]
    assert mine["devices_speaker"] == 1
    assert mine["broadcast_hours"] == 0.5
    assert mine["online_share"] == round(6 / period.elapsed_minutes(NOW), 4)  # of the minutes up to the cut-off
    assert (mine["bulletins"], mine["bulletins_emergency"], mine["source_commune"]) == (1, 1, 1)
    assert rows[cast.other_commune.code]["devices_speaker"] == 0
    assert rows[cast.other_commune.code]["note"]  # "no device in service"
    total = report.sections[0].total
    assert (total["devices_speaker"], total["bulletins"], total["broadcast_hours"]) == (1, 1, 0.5)
    # A commune's own report has a single row: itself.
    own = catalogue.build("ttcs", cast.commune, period)
    assert [row["code"] for row in own.sections[0].rows] == [cast.commune.code]


def test_a_past_period_shows_the_inventory_of_its_time(cast, device):
    this_month = date.today().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    rollup.snapshot_inventory(last_month)
    make_device(cast, "BH-902")  # bought this month
    past = catalogue.build("ttcs", cast.province, periods.parse("month", f"{last_month:%Y-%m}"))
    now = catalogue.build("ttcs", cast.province, periods.parse("month", f"{this_month:%Y-%m}"))
    assert past.sections[0].total["devices_speaker"] == 1
    assert now.sections[0].total["devices_speaker"] == 2
