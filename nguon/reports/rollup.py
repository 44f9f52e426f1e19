"""Keep the roll-ups in step: counted as records are stored, planned from the schedules, rebuilt on demand.

Counting happens in the transaction that stores the records (`nguon.broadcast.reports.on_stored`), as one upsert
per table that adds to the counters (`INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n`, on SQLite and
PostgreSQL alike). Records are stored once (unique on device and seq), so the roll-ups equal a GROUP BY over the
raw rows: `rebuild()` computes exactly that, and the property test compares the two.

A record counts on the local day (Asia/Ho_Chi_Minh) of its own time: a heartbeat's `at`, a play's `started_at`,
a fault's `at`, an alert receipt's `at`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count

from nguon.reports.models import (
    DAY_COUNTERS,
    PLANNED_COUNTERS,
    ContentMonth,
    DeviceDay,
    InventoryMonth,
    SourceLevel,
    UnitDay,
)

ADDED_COUNTERS = tuple(c for c in DAY_COUNTERS if c not in PLANNED_COUNTERS)
PLAYED_STATES = ("played", "displayed")


def local_day(moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(settings.TIME_ZONE)).date()


def _add(counts: dict, key, counter: str, amount: int = 1) -> None:
    entry = counts.get(key)
    if entry is None:
        entry = counts[key] = dict.fromkeys(ADDED_COUNTERS, 0)
    entry[counter] += amount


def deltas(rows: dict[type, list]) -> dict[tuple[int, date], dict[str, int]]:
    """(device id, day) → counters to add, from newly stored rows of any of the raw models."""
    from nguon.alerts.models import AlertReceipt
    from nguon.broadcast.models import DeviceLog, Heartbeat, PlayRecord

    counts: dict[tuple[int, date], dict[str, int]] = {}
    for row in rows.get(Heartbeat, ()):
        _add(counts, (row.device_id, local_day(row.at)), "online_minutes")
    for row in rows.get(PlayRecord, ()):
        key = (row.device_id, local_day(row.started_at))
        _add(counts, key, f"{row.result}_items")
        if row.ended_at is not None and row.result in ("played", "partial"):
            _add(counts, key, "played_seconds", int((row.ended_at - row.started_at).total_seconds()))
    for row in rows.get(DeviceLog, ()):
        if row.level == "fault":
            _add(counts, (row.device_id, local_day(row.at)), "faults")
    for row in rows.get(AlertReceipt, ()):
        key = (row.device_id, local_day(row.at))
        if row.state == "acknowledged":
            _add(counts, key, "alerts_acknowledged")
        elif row.state in PLAYED_STATES:
            _add(counts, key, "alerts_played")
        elif row.state == "failed":
            _add(counts, key, "alerts_failed")
    return counts


def _upsert(table: str, keys: tuple, columns: tuple, values: list[tuple], *, add: bool, kept: tuple = ()) -> None:
    """Insert rows, or add to (or set) the counters of the rows already there.

    Each row is (*keys, *kept, *columns); `kept` columns are written on insert only. Rows come sorted by key, so
    two writers lock the same rows in the same order (no deadlock on PostgreSQL).
    """
    if not values:
        return
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in (*keys, *kept, *columns))
    if add:
        updates = ", ".join(f"{quote(c)} = {quote(table)}.{quote(c)} + excluded.{quote(c)}" for c in columns)
    else:
        updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in columns)
    width = len(keys) + len(kept) + len(columns)
    # SQLite allows 32,766 parameters per statement; keep well below for both databases.
    chunk = max(1, 20_000 // width)
    with connection.cursor() as cursor:
        for start in range(0, len(values), chunk):
            part = values[start : start + chunk]
            placeholders = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(part))
            sql = (
                f"INSERT INTO {quote(table)} ({names}) VALUES {placeholders} "  # noqa: S608 (names are ours)
                f"ON CONFLICT ({', '.join(quote(k) for k in keys)}) DO UPDATE SET {updates}"
            )
            cursor.execute(sql, [v for row in part for v in row])


def on_records_stored(rows: dict[type, list], devices: dict[int, dict]) -> None:
    counts = deltas(rows)
    if counts:
        _apply_added(counts, {pk: row["unit_id"] for pk, row in devices.items()})


def _apply_added(counts, units) -> None:
    columns = ADDED_COUNTERS
    device_rows = sorted(
        (device_id, day, units[device_id], *(c[k] for k in columns))
        for (device_id, day), c in counts.items()
        if device_id in units
    )
    by_unit: dict[tuple[int, date], list[int]] = {}
    for _device_id, day, unit_id, *values in device_rows:
        entry = by_unit.setdefault((unit_id, day), [0] * len(columns))
        for index, value in enumerate(values):
            entry[index] += value
    _upsert_device_days(device_rows, columns, add=True)
    _upsert(UnitDay._meta.db_table, ("unit_id", "day"), columns, sorted((*k, *v) for k, v in by_unit.items()), add=True)


def _upsert_device_days(device_rows: list[tuple], columns: tuple[str, ...], *, add: bool) -> None:
    """Upsert (device, day, unit, *counters) rows; an existing row keeps the unit it was first counted under."""
    _upsert(DeviceDay._meta.db_table, ("device_id", "day"), columns, device_rows, add=add, kept=("unit_id",))


# --- Planning: what the schedules asked of each device on a day ---------------------------------------------------


def plan_day(day: date) -> int:
    """Set the planned items and seconds of every active device for `day` from its schedule. Returns devices."""
    from nguon.broadcast.models import Device, Slot
    from nguon.broadcast.schedule import occurrences, slots_for_device

    slots = list(Slot.objects.filter(is_active=True).prefetch_related("items"))
    planned: dict[tuple[int, date], dict[str, int]] = {}
    units: dict[int, int] = {}
    devices = Device.objects.active().prefetch_related("groups")
    for device in devices:
        units[device.pk] = device.unit_id
        items = seconds = 0
        for slot in slots_for_device(device, slots):
            for occurrence in occurrences(slot, day, 1):
                items += len(slot.items.all())
                seconds += int((occurrence.end - occurrence.start).total_seconds())
        planned[(device.pk, day)] = {"planned_items": items, "planned_seconds": seconds}
    with transaction.atomic():
        device_rows = sorted(
            (device_id, d, units[device_id], c["planned_items"], c["planned_seconds"])
            for (device_id, d), c in planned.items()
        )
        _upsert_device_days(device_rows, PLANNED_COUNTERS, add=False)
        _refresh_unit_planned(day)
    return len(planned)


def _refresh_unit_planned(day: date) -> None:
    from django.db.models import Sum

    sums = (
        DeviceDay.objects.filter(day=day)
        .values("unit_id")
        .annotate(items=Sum("planned_items"), seconds=Sum("planned_seconds"))
        .order_by("unit_id")
    )
    rows = [(row["unit_id"], day, row["items"], row["seconds"]) for row in sums]
    _upsert(UnitDay._meta.db_table, ("unit_id", "day"), PLANNED_COUNTERS, rows, add=False)


# --- Content: bulletins published per unit and month --------------------------------------------------------------


def month_of(moment: datetime) -> date:
    return local_day(moment).replace(day=1)


def source_level(bulletin_source: str, owner_level: int) -> str:
    if bulletin_source == "central":
        return SourceLevel.CENTRAL
    if bulletin_source == "province" or owner_level <= 1:
        return SourceLevel.PROVINCE
    return SourceLevel.COMMUNE


def refresh_content_month(unit_id: int, month: date) -> None:
    """Recount one unit's published bulletins of one month (idempotent: run it again and nothing changes)."""
    from nguon.content.models import Bulletin
    from nguon.units.models import Unit

    zone = ZoneInfo(settings.TIME_ZONE)
    start = datetime.combine(month, datetime.min.time(), tzinfo=zone)
    end = datetime.combine((month + timedelta(days=32)).replace(day=1), datetime.min.time(), tzinfo=zone)
    level = Unit.objects.filter(pk=unit_id).values_list("unit_type__level", flat=True).first() or 1
    groups = (
        Bulletin.objects.filter(owner_unit_id=unit_id, published_at__gte=start, published_at__lt=end)
        .values("priority", "category_id", "source", "author_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    merged: dict[tuple, int] = defaultdict(int)
    for g in groups:
        merged[(g["priority"], g["category_id"], source_level(g["source"], level), g["author_id"])] += g["n"]
    with transaction.atomic():
        ContentMonth.objects.filter(unit_id=unit_id, month=month).delete()
        ContentMonth.objects.bulk_create(
            ContentMonth(
                unit_id=unit_id, month=month, priority=p, category_id=c, source_level=s, author_id=a, bulletins=n
            )
            for (p, c, s, a), n in merged.items()
        )


# --- Inventory: devices and stations at the end of each month ------------------------------------------------------


def snapshot_inventory(month: date) -> int:
    """Record today's devices in service as `month`'s inventory (run daily: the last run of a month stays)."""
    from nguon.broadcast.models import Device

    rows = (
        Device.objects.active()
        .values("unit_id", "kind", "technology")
        .annotate(devices=Count("pk"), stations=Count("station_id", distinct=True))
        .order_by("unit_id", "kind", "technology")
    )
    with transaction.atomic():
        InventoryMonth.objects.filter(month=month).delete()
        InventoryMonth.objects.bulk_create(InventoryMonth(month=month, **row) for row in rows)
    return len(rows)


# --- Rebuild from the raw rows (after an import, or to check) ------------------------------------------------------


def raw_counts(first: date, last: date, device_ids=None) -> dict[tuple[int, date], dict[str, int]]:
    """The added counters computed straight from the raw rows (what the roll-ups must equal)."""
    from nguon.alerts.models import AlertReceipt
    from nguon.broadcast.models import DeviceLog, Heartbeat, PlayRecord

    zone = ZoneInfo(settings.TIME_ZONE)
    start = datetime.combine(first, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=zone)

    def scoped(queryset, field):
        queryset = queryset.filter(**{f"{field}__gte": start, f"{field}__lt": end})
        return queryset if device_ids is None else queryset.filter(device_id__in=device_ids)

    rows: dict[type, list] = {
        Heartbeat: list(scoped(Heartbeat.objects.only("device_id", "at"), "at")),
        PlayRecord: list(
            scoped(PlayRecord.objects.only("device_id", "started_at", "ended_at", "result"), "started_at")
        ),
        DeviceLog: list(scoped(DeviceLog.objects.filter(level="fault").only("device_id", "at", "level"), "at")),
        AlertReceipt: list(scoped(AlertReceipt.objects.only("device_id", "at", "state"), "at")),
    }
    return deltas(rows)


def rebuild(first: date, last: date) -> int:
    """Recompute the added counters of every device-day and unit-day in [first, last] from the raw rows."""
    from nguon.broadcast.models import Device

    counts = raw_counts(first, last)
    units = dict(Device.objects.values_list("pk", "unit_id"))
    with transaction.atomic():
        zero = dict.fromkeys(ADDED_COUNTERS, 0)
        DeviceDay.objects.filter(day__gte=first, day__lte=last).update(**zero)
        UnitDay.objects.filter(day__gte=first, day__lte=last).update(**zero)
        _apply_added(counts, units)
    return len(counts)
