"""The demo's year of history: the yearly TTCS report for 2026 shows figures, and running the demo again changes
nothing."""

from __future__ import annotations

import io
import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from nguon.reports import catalogue, periods
from nguon.reports.demo import load_history
from nguon.reports.models import DAY_COUNTERS, ContentMonth, DeviceDay, UnitDay
from nguon.units.models import Unit

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


def figures() -> list[tuple]:
    device_days = DeviceDay.objects.order_by("device__code", "day").values_list("device_id", "day", *DAY_COUNTERS)
    unit_days = UnitDay.objects.order_by("unit_id", "day").values_list("unit_id", "day", *DAY_COUNTERS)
    return [*device_days, *unit_days]


def test_the_demo_has_a_year_of_figures_the_same_at_every_run():
    with time_machine.travel(NOW, tick=False):
        call_command("demo", stdout=io.StringIO())
        first = figures()
        started = time.monotonic()
        written = load_history()
        elapsed = time.monotonic() - started
        call_command("demo", stdout=io.StringIO())
        assert figures() == first
        report = catalogue.build("ttcs", Unit.objects.get(code="75"), periods.parse("year", "2026"))
    # Eight demo devices, 1 January to yesterday (today belongs to the live devices).
    assert written == 8 * (date(2026, 12, 2) - date(2026, 1, 1)).days + 8
    assert not DeviceDay.objects.filter(day=date(2026, 12, 3)).exists()
    assert elapsed < 5
    rows = {row["code"]: row for row in report.sections[0].rows}
    bien_hoa = rows["26068"]
    assert bien_hoa["devices_speaker"] == 2 and bien_hoa["devices_board"] == 1
    assert 850 < bien_hoa["broadcast_hours"] < 1_010  # nearly an hour a day for each of three devices
    assert 0.9 < bien_hoa["online_share"] < 0.99  # of the minutes up to the cut-off, less outages
    total = report.sections[0].total
    assert total["bulletins"] >= 2 and total["source_province"] >= 2
    assert ContentMonth.objects.filter(month=date(2026, 12, 1)).exists()
    # Unit-days are exactly the sums of their devices' days.
    for unit_id in {row[0] for row in UnitDay.objects.values_list("unit_id")}:
        played = sum(DeviceDay.objects.filter(unit_id=unit_id).values_list("played_seconds", flat=True))
        assert played == sum(UnitDay.objects.filter(unit_id=unit_id).values_list("played_seconds", flat=True))


def test_reports_rebuild_recounts_from_the_raw_records_and_refuses_dropped_days(cast):
    from datetime import timedelta

    from django.core.management.base import CommandError

    from nguon.broadcast.reports import ingest, parse
    from nguon.broadcast.tests.device_helpers import batch_body, heartbeat, make_device

    with time_machine.travel(NOW, tick=False):
        device = make_device(cast, "BH-900")
        ingest(
            [
                parse(
                    batch_body(*(heartbeat(i, NOW - timedelta(minutes=i)) for i in range(1, 6))),
                    device_id=device.pk,
                    now=NOW,
                )
            ]
        )
        DeviceDay.objects.filter(device=device).update(online_minutes=999)  # figures gone wrong
        out = io.StringIO()
        call_command("reports_rebuild", "--from", "2026-11-20", "--to", "2026-12-31", stdout=out)
        assert DeviceDay.objects.get(device=device).online_minutes == 5
        assert "[2/2] 2026-12-01 .. 2026-12-03" in out.getvalue()
        with pytest.raises(CommandError, match="retention"):
            call_command("reports_rebuild", "--from", "2020-01-01", "--to", "2020-12-31", stdout=io.StringIO())
