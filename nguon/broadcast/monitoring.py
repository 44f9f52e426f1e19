"""Monitoring: online/offline from heartbeats (each change an append-only row), fleet figures, proof of play."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nguon.broadcast.models import (
    Device,
    DeviceFault,
    DeviceKind,
    DeviceStatusChange,
    PlayRecord,
    PlayResult,
    Slot,
    Technology,
)
from nguon.broadcast.schedule import local_zone, occurrences, slots_for_device
from nguon.broadcast.signals import devices_went_offline
from nguon.core.errors import Invalid
from nguon.lib.bulkwrite import insert_objects, update_rows
from nguon.lib.plot import convex_hull, fit_frame, graticule

# Results that count as "played" in proof-of-play figures: an interrupted play still reached the listeners.
PLAYED_RESULTS = (PlayResult.PLAYED, PlayResult.PARTIAL)
# Clock skew above this is shown as a problem: slots are anchored to the wall clock (see docs/device-protocol.md).
SKEW_WARNING_MS = 1000


def mark_overdue_offline(now=None) -> int:
    """Mark devices silent past their grace time offline (claimed row by row: safe with several workers)."""
    now = now or timezone.now()
    went: list[int] = []
    for pk in Device.objects.overdue(now).order_by().values_list("pk", flat=True):
        with transaction.atomic():
            if Device.objects.filter(pk=pk, is_online=True, silent_after__lt=now).update(is_online=False):
                DeviceStatusChange.objects.create(device_id=pk, at=now, online=False, reason="silent")
                went.append(pk)
    if went:
        transaction.on_commit(lambda: devices_went_offline.send(sender=Device, device_ids=went, at=now))
    return len(went)


def mark_online(device_ids, at: datetime, reason: str = "stream") -> int:
    """Mark these devices online and seen at `at` (e.g. they opened their event stream), as a report does.

    Grouped for a wave of reconnecting devices: one locking SELECT, one UPDATE over all of them (nguon.lib.bulkwrite)
    and one insert of the status changes, whatever their number. A device already seen later keeps its later time.
    Returns how many came online.
    """
    ids = sorted(set(device_ids))
    if not ids:
        return 0
    with transaction.atomic():
        # Locked in id order, as report intake locks them: a report storing at the same moment waits, so a device
        # coming online gets one status change, not one from each. order_by("pk"), not the default ordering, which
        # joins units and sorts by them (0.6 s for 1,000 devices on SQLite).
        rows = Device.objects.select_for_update().filter(pk__in=ids).order_by("pk")
        updates, came_online = [], []
        for pk, is_online, last_seen_at, grace_seconds in rows.values_list(
            "pk", "is_online", "last_seen_at", "grace_seconds"
        ):
            seen = max(at, last_seen_at) if last_seen_at else at
            updates.append((pk, seen, seen + timedelta(seconds=grace_seconds)))
            if not is_online:
                came_online.append(DeviceStatusChange(device_id=pk, at=at, online=True, reason=reason))
        update_rows(Device, ["last_seen_at", "silent_after"], updates, constants={"is_online": True})
        insert_objects(DeviceStatusChange, came_online)
    return len(came_online)


# --- The fleet list -------------------------------------------------------------------------------------------


def filter_fleet(
    devices: QuerySet, *, q: str = "", unit=None, kind: str = "", technology: str = "", status: str = ""
) -> QuerySet:
    """Narrow a (scoped) device queryset by the fleet filters; `unit` covers its whole subtree."""
    q = q.strip()
    if q:
        devices = devices.filter(Q(name__icontains=q) | Q(code__icontains=q) | Q(model__icontains=q))
    if unit is not None:
        devices = devices.in_unit(unit)
    if kind:
        devices = devices.filter(kind=kind)
    if technology:
        devices = devices.filter(technology=technology)
    if status == "online":
        devices = devices.filter(is_active=True, is_online=True)
    elif status == "offline":
        devices = devices.filter(is_active=True, is_online=False)
    elif status == "never":
        devices = devices.filter(is_active=True, last_seen_at__isnull=True)
    elif status == "faults":
        devices = devices.filter(pk__in=DeviceFault.objects.filter(cleared_at__isnull=True).values("device_id"))
    elif status == "skewed":
        devices = devices.filter(Q(clock_skew_ms__gt=SKEW_WARNING_MS) | Q(clock_skew_ms__lt=-SKEW_WARNING_MS))
    elif status == "inactive":
        devices = devices.filter(is_active=False)
    return devices


def with_monitoring(devices: QuerySet) -> QuerySet:
    """Annotate what the fleet list shows beside the device's own columns, in the same query (no N+1)."""
    open_faults = (
        DeviceFault.objects.filter(device=OuterRef("pk"), cleared_at__isnull=True)
        .order_by()
        .values("device")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return devices.annotate(
        open_faults=Coalesce(Subquery(open_faults), 0),
        manifest_version=F("manifest__version"),
    )


def fleet_counts(devices: QuerySet) -> dict:
    """Totals for the fleet header in one query: online, offline, never seen, faults, by kind and technology."""
    aggregates = {
        "total": Count("pk"),
        "active": Count("pk", filter=Q(is_active=True)),
        "online": Count("pk", filter=Q(is_active=True, is_online=True)),
        "never_seen": Count("pk", filter=Q(is_active=True, last_seen_at__isnull=True)),
        "skewed": Count(
            "pk",
            filter=Q(is_active=True) & (Q(clock_skew_ms__gt=SKEW_WARNING_MS) | Q(clock_skew_ms__lt=-SKEW_WARNING_MS)),
        ),
    }
    for kind in DeviceKind:
        aggregates[f"kind_{kind.value}"] = Count("pk", filter=Q(kind=kind))
    for technology in Technology:
        aggregates[f"tech_{technology.value}"] = Count("pk", filter=Q(technology=technology))
    row = devices.order_by().aggregate(**aggregates)
    return {
        "total": row["total"],
        "active": row["active"],
        "online": row["online"],
        "offline": row["active"] - row["online"],
        "never_seen": row["never_seen"],
        "skewed": row["skewed"],
        "inactive": row["total"] - row["active"],
        "by_kind": [(kind.label, row[f"kind_{kind.value}"]) for kind in DeviceKind],
        "by_technology": [(tech.label, row[f"tech_{tech.value}"]) for tech in Technology],
    }


def fleet_by_unit(devices: QuerySet) -> list[dict]:
    """Devices in service per unit, online and offline, in one grouped query (for the fleet's unit summary)."""
    rows = (
        devices.filter(is_active=True)
        .order_by()
        .values("unit__code", "unit__name", "unit__path")
        .annotate(total=Count("pk"), online=Count("pk", filter=Q(is_online=True)))
        .order_by("unit__path")
    )
    return [{**row, "offline": row["total"] - row["online"]} for row in rows]


# --- The map --------------------------------------------------------------------------------------------------


def fleet_map(devices: QuerySet, *, width: int = 800) -> dict | None:
    """Points, commune outlines and centroids for an inline SVG map; None when no device has coordinates.

    No tiles and no boundary data: each commune is outlined by the convex hull of its own devices and labelled at
    their mean position, which is enough to see where the silent ones are.
    """
    rows = list(
        devices.filter(latitude__isnull=False, longitude__isnull=False)
        .order_by()
        .values(
            "pk", "code", "name", "kind", "latitude", "longitude", "is_online", "is_active", "unit__code", "unit__name"
        )  # fmt: skip
    )
    frame = fit_frame([(r["latitude"], r["longitude"]) for r in rows], width=width, pad=40)
    if frame is None:
        return None
    by_unit: dict[str, list[dict]] = defaultdict(list)
    points = []
    for r in rows:
        x, y = frame.xy(r["latitude"], r["longitude"])
        state = "inactive" if not r["is_active"] else "online" if r["is_online"] else "offline"
        point = {**r, "x": x, "y": y, "x0": round(x - 6, 1), "y0": round(y - 6, 1), "state": state}
        points.append(point)
        by_unit[r["unit__code"]].append(point)
    # Offline devices are drawn last, on top, so that a red point is never hidden under a green one.
    points.sort(key=lambda p: {"online": 0, "inactive": 1, "offline": 2}[p["state"]])
    communes = []
    for code, members in sorted(by_unit.items()):
        hull = convex_hull([(p["x"], p["y"]) for p in members])
        communes.append(
            {
                "code": code,
                "name": members[0]["unit__name"],
                "count": len(members),
                "online": sum(1 for p in members if p["state"] == "online"),
                "x": round(sum(p["x"] for p in members) / len(members), 1),
                "y": round(sum(p["y"] for p in members) / len(members), 1),
                "outline": " ".join(f"{x},{y}" for x, y in hull) if len(hull) >= 3 else "",
            }
        )
    return {"frame": frame, "points": points, "communes": communes, "grid": graticule(frame)}


# --- Proof of play --------------------------------------------------------------------------------------------

# Every slot is expanded for every audience and day: a quarter is plenty for one screen or one API call.
MAX_STATS_DAYS = 92
DEFAULT_STATS_DAYS = 7


def default_range(last_day: date | None = None) -> tuple[date, date]:
    """The week up to `last_day` (today by default)."""
    last_day = last_day or timezone.localdate()
    return last_day - timedelta(days=DEFAULT_STATS_DAYS - 1), last_day


def stats_range(first_day: date | None, last_day: date | None) -> tuple[date, date]:
    """The days to report on: the last week up to today by default; at most MAX_STATS_DAYS."""
    last_day = last_day or timezone.localdate()
    first_day = first_day or default_range(last_day)[0]
    if first_day > last_day:
        raise Invalid(_("The last day comes before the first."), fields={"date_to": [_("Before the first day.")]})
    if (last_day - first_day).days + 1 > MAX_STATS_DAYS:
        message = _("Choose at most %(n)d days.") % {"n": MAX_STATS_DAYS}
        raise Invalid(message, fields={"date_from": [message]})
    return first_day, last_day


@dataclass
class Tally:
    planned: int = 0
    played: int = 0

    @property
    def missed(self) -> int:
        return self.planned - self.played

    @property
    def rate(self) -> float | None:
        """Share of planned plays that were played, 0..1 (None when nothing was planned)."""
        return self.played / self.planned if self.planned else None

    def add(self, other: Tally) -> None:
        self.planned += other.planned
        self.played += other.played


@dataclass
class OccurrenceRow(Tally):
    key: str = ""
    slot: Slot | None = None
    day: date | None = None
    start: datetime | None = None
    end: datetime | None = None


@dataclass
class UnitRow(Tally):
    unit: object = None


@dataclass
class DayRow(Tally):
    day: date | None = None


@dataclass
class PlayStats:
    first_day: date
    last_day: date
    total: Tally = field(default_factory=Tally)
    occurrences: list[OccurrenceRow] = field(default_factory=list)
    units: list[UnitRow] = field(default_factory=list)
    days: list[DayRow] = field(default_factory=list)


def proof_of_play(devices: QuerySet, first_day: date, last_day: date, now: datetime | None = None) -> PlayStats:
    """Planned against played, per slot occurrence, per commune and per day, for the given devices and days.

    Planned: for every active device, each occurrence (already ended) of every slot that reaches it, from the day
    the device was registered on. Played: devices that reported at least one item of the occurrence as played or
    partly played. Plans come from the slots as they stand now (a removed slot leaves the figures).

    Four queries whatever the number of devices: devices, their groups, slots, and the grouped play records.
    Devices with the same unit, kind and groups get the same slots, so slots are matched once per such audience.
    """
    now = now or timezone.now()
    stats = PlayStats(first_day, last_day)
    devices = devices.filter(is_active=True).order_by()
    device_ids = devices.values("pk")
    devices = devices.select_related("unit").prefetch_related("groups")
    devices = devices.only("pk", "kind", "created_at", "unit__code", "unit__name", "unit__path")
    audiences: dict[tuple, list] = {}
    for device in devices:
        key = (device.unit_id, device.kind, frozenset(g.pk for g in device.groups.all()))
        audiences.setdefault(key, []).append(device)
    if not audiences or last_day < first_day:
        return stats

    codes = {code for members in audiences.values() for code in members[0].unit.path.strip("/").split("/")}
    slots = list(Slot.objects.active().filter(unit__code__in=codes).select_related("unit"))
    days = (last_day - first_day).days + 1
    due = {slot.pk: [o for o in occurrences(slot, first_day, days) if o.end <= now] for slot in slots}

    # Cells by (occurrence, unit, kind): played counts are grouped the same way in SQL, so a board's report never
    # fills a speakers-only slot's plan.
    cells: dict[tuple[str, int, str], Tally] = defaultdict(Tally)
    occurrence_by_key = {}
    units = {}
    for members in audiences.values():
        device = members[0]
        units[device.unit_id] = device.unit
        registered = sorted(d.created_at for d in members)
        for slot in slots_for_device(device, slots):
            for occ in due[slot.pk]:
                # Devices registered after the occurrence started were never expected to play it.
                expected = bisect_right(registered, occ.start)
                if expected:
                    cells[(occ.key, device.unit_id, device.kind)].planned += expected
                    occurrence_by_key[occ.key] = occ
    if not cells:
        return stats

    zone = local_zone()
    # Records carry the occurrence key; the time window (a day's slack on both sides for late or skewed clocks)
    # only keeps the scan to the range's rows.
    window_start = datetime.combine(first_day - timedelta(days=1), time.min, tzinfo=zone)
    window_end = datetime.combine(last_day + timedelta(days=2), time.min, tzinfo=zone)
    played = (
        PlayRecord.objects.filter(
            device__in=device_ids,
            result__in=PLAYED_RESULTS,
            started_at__gte=window_start,
            started_at__lt=window_end,
        )
        # Nothing plays before it is registered (it had no manifest yet): such records come from a wrong clock.
        .filter(started_at__gte=F("device__created_at"))
        .order_by()
        .values("occurrence", "device__unit_id", "device__kind")
        .annotate(n=Count("device_id", distinct=True))
    )
    for row in played:
        cell = cells.get((row["occurrence"], row["device__unit_id"], row["device__kind"]))
        if cell is not None:
            # A device that left a group since may still report the group's slot: never count beyond the plan.
            cell.played = min(cell.planned, row["n"])

    by_occurrence: dict[str, OccurrenceRow] = {}
    by_unit: dict[int, UnitRow] = {}
    by_day: dict[date, DayRow] = {}
    for (key, unit_id, _kind), cell in cells.items():
        occ = occurrence_by_key[key]
        row = by_occurrence.get(key)
        if row is None:
            row = by_occurrence[key] = OccurrenceRow(key=key, slot=occ.slot, day=occ.day, start=occ.start, end=occ.end)
        row.add(cell)
        by_unit.setdefault(unit_id, UnitRow(unit=units[unit_id])).add(cell)
        by_day.setdefault(occ.day, DayRow(day=occ.day)).add(cell)
        stats.total.add(cell)
    stats.occurrences = sorted(by_occurrence.values(), key=lambda r: (r.start, r.slot.pk), reverse=True)
    stats.units = sorted(by_unit.values(), key=lambda r: r.unit.path)
    day = first_day
    while day <= last_day:  # every day of the range, planned or not, so the chart has no holes
        stats.days.append(by_day.get(day, DayRow(day=day)))
        day += timedelta(days=1)
    return stats
