"""A year of history for the demo: device-days and unit-days for the demo devices, and the content months.

The demo devices exist only from the moment `nguon demo` runs, so without this every report of the demo would be
empty. The figures are plausible (two half-hour programmes a day, devices online most of the time, a few outages,
faults and alert days in the storm season) and the same at every run: each device's days come from a random
generator seeded by the device's code, and they are written with "set", not "add", so running the demo twice
changes nothing. Today is left to the live devices (`nguon serve --with-devices`).
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from nguon.reports import rollup
from nguon.reports.models import DAY_COUNTERS, DeviceDay, UnitDay

SEED = "nguon-demo-2026"
# Two programmes a day (05:30–06:00 and 17:00–17:30) of two bulletins each: see DEMO_SLOTS in nguon/core/demo.py.
PLANNED_ITEMS = 4
PLANNED_SECONDS = 3_600


def load_history(today: date | None = None) -> int:
    """Write the demo devices' days from 1 January to yesterday; return the device-days written."""
    from nguon.broadcast.models import Device
    from nguon.core.demo import DEMO_DEVICES

    today = today or timezone.localdate()
    first, last = date(today.year, 1, 1), today - timedelta(days=1)
    if last < first:
        return 0
    devices = list(
        Device.objects.filter(code__in=[row[1] for row in DEMO_DEVICES]).values("pk", "code", "unit_id", "kind")
    )
    alert_days = _alert_days(first.year)
    rows = []
    for device in sorted(devices, key=lambda d: d["code"]):
        rng = random.Random(f"{SEED}:{device['code']}")  # noqa: S311 (made-up figures, not secrets)
        outages = _outages(rng, first.year)
        day = first
        while day <= last:
            figures = _day(rng, day in outages, alert_days.get(day, 0))
            rows.append((device["pk"], day, device["unit_id"], *(figures[c] for c in DAY_COUNTERS)))
            day += timedelta(days=1)
    units = sorted({d["unit_id"] for d in devices})
    with transaction.atomic():
        rollup._upsert_device_days(rows, DAY_COUNTERS, add=False)
        _refresh_unit_days(units, first, last)
    _refresh_content_months()
    return len(rows)


def _outages(rng: random.Random, year: int) -> set[date]:
    """One to three spells of one to four days when the device was off (power cut, broken modem)."""
    days: set[date] = set()
    for _spell in range(rng.randint(1, 3)):
        start = date(year, 1, 1) + timedelta(days=rng.randint(0, 364))
        days.update(start + timedelta(days=n) for n in range(rng.randint(1, 4)))
    return days


def _alert_days(year: int) -> dict[date, int]:
    """Days with emergency alerts (mostly the rainy season, June to November) and how many alerts each."""
    rng = random.Random(f"{SEED}:alerts")  # noqa: S311 (made-up figures, not secrets)
    days = {}
    for _n in range(10):
        month = rng.choice((3, 6, 7, 8, 9, 9, 10, 10, 11, 11))
        days[date(year, month, rng.randint(1, 28))] = rng.choice((1, 1, 2))
    return days


def _day(rng: random.Random, off: bool, alerts: int) -> dict[str, int]:
    figures = dict.fromkeys(DAY_COUNTERS, 0)
    figures["planned_items"], figures["planned_seconds"] = PLANNED_ITEMS, PLANNED_SECONDS
    if off:
        figures["faults"] = 1 if rng.random() < 0.5 else 0
        return figures
    # Mostly on all day; some days lose a few hours to a power cut or a weak mobile signal.
    online = 1_440 - rng.randint(0, 25) if rng.random() > 0.08 else rng.randint(600, 1_300)
    figures["online_minutes"] = online
    played, partial, failed = PLANNED_ITEMS, 0, 0
    roll = rng.random()
    if online < 1_000 or roll < 0.04:
        failed, played = 1, PLANNED_ITEMS - 1
    elif roll < 0.08:
        partial, played = 1, PLANNED_ITEMS - 1
    figures.update(played_items=played, partial_items=partial, failed_items=failed)
    figures["played_seconds"] = sum(rng.randint(830, 895) for _ in range(played)) + partial * rng.randint(120, 600)
    figures["faults"] = 1 if online < 1_000 or rng.random() < 0.02 else 0
    if alerts:
        figures["alerts_acknowledged"] = alerts
        lost = 1 if online < 1_300 and rng.random() < 0.3 else 0
        figures["alerts_played"], figures["alerts_failed"] = alerts - lost, lost
    return figures


def _refresh_unit_days(units: list[int], first: date, last: date) -> None:
    """Set the unit-days of these units to the sum of their device-days (the same figures counting would give)."""
    sums = (
        DeviceDay.objects.filter(unit_id__in=units, day__gte=first, day__lte=last)
        .values("unit_id", "day")
        .annotate(**{f"sum_{c}": Sum(c) for c in DAY_COUNTERS})
        .order_by("unit_id", "day")
    )
    rows = [(row["unit_id"], row["day"], *(row[f"sum_{c}"] for c in DAY_COUNTERS)) for row in sums]
    rollup._upsert(UnitDay._meta.db_table, ("unit_id", "day"), DAY_COUNTERS, rows, add=False)


def _refresh_content_months() -> None:
    """Recount the months in which the demo bulletins were published (counting is idempotent)."""
    from nguon.content.models import Bulletin

    buckets = {
        (unit_id, rollup.month_of(published_at))
        for unit_id, published_at in Bulletin.objects.filter(published_at__isnull=False).values_list(
            "owner_unit_id", "published_at"
        )
    }
    for unit_id, month in sorted(buckets):
        rollup.refresh_content_month(unit_id, month)
