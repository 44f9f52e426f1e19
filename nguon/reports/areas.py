"""Figures per area (địa bàn): the units directly below the report's unit, each summing its own subtree.

Every helper here reads roll-ups (or small current-state tables: devices, stations), never a period of raw
records, and returns {area unit id: figures}. Units below an area are mapped to it by their path.
"""

from __future__ import annotations

from collections import defaultdict

from django.apps import apps
from django.db.models import Count, Q, Sum
from django.utils import timezone

from nguon.broadcast.models import Device, DeviceKind, Technology
from nguon.content.models import Priority
from nguon.reports.models import DAY_COUNTERS, ContentMonth, DeviceDay, InventoryMonth, SourceLevel, UnitDay
from nguon.reports.periods import Period
from nguon.reports.tables import Report
from nguon.units.models import Unit


def areas(unit: Unit, period: Period | None = None) -> list[Unit]:
    """The report's rows: the units directly below `unit` valid during the period, or the unit alone."""
    children = Unit.objects.filter(parent=unit).select_related("unit_type").order_by("code")
    if period is not None:
        children = children.filter(Q(valid_from__isnull=True) | Q(valid_from__lte=period.last)).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gt=period.first)
        )
    return list(children) or [unit]


class AreaMap:
    """Maps any unit of the subtree to its area (the report unit itself for its own devices and bulletins)."""

    def __init__(self, unit: Unit, rows: list[Unit]):
        self.unit = unit
        self.rows = rows
        # Longest paths first, so an area is found before the report unit that contains it.
        self._paths = sorted(((u.path, u.pk) for u in rows if u.pk != unit.pk), key=lambda p: -len(p[0]))
        self._paths.append((unit.path, unit.pk))
        self._cache: dict[int, int | None] = {}
        self._unit_paths: dict[int, str] = {}

    def load(self, unit_ids) -> None:
        missing = [pk for pk in unit_ids if pk not in self._unit_paths]
        if missing:
            self._unit_paths.update(Unit.objects.filter(pk__in=missing).values_list("pk", "path"))

    def area_of(self, unit_id: int) -> int | None:
        if unit_id not in self._cache:
            path = self._unit_paths.get(unit_id, "")
            self._cache[unit_id] = next((pk for prefix, pk in self._paths if path.startswith(prefix)), None)
        return self._cache[unit_id]

    def fold(self, rows, key: str = "unit_id") -> dict[int, dict]:
        """Sum value rows (dicts with `key` and numbers) into their areas."""
        rows = list(rows)
        self.load({r[key] for r in rows})
        out: dict[int, dict] = defaultdict(lambda: defaultdict(int))
        for row in rows:
            area = self.area_of(row[key])
            if area is None:
                continue
            for name, value in row.items():
                if name != key and isinstance(value, int | float):
                    out[area][name] += value
        return out


def day_sums(amap: AreaMap, period: Period) -> dict[int, dict]:
    """The day counters summed over the period, per area (from unit-days: one row per unit and day)."""
    rows = (
        UnitDay.objects.filter(day__gte=period.first, day__lte=period.last, unit_id__in=_subtree_ids(amap.unit))
        .values("unit_id")
        .annotate(**{c: Sum(c) for c in DAY_COUNTERS})
        .order_by()
    )
    return amap.fold(rows)


def device_day_sums(unit: Unit, period: Period) -> dict[int, dict]:
    """The day counters summed over the period per device of the subtree (device id → counters)."""
    rows = (
        DeviceDay.objects.filter(day__gte=period.first, day__lte=period.last, unit_id__in=_subtree_ids(unit))
        .values("device_id")
        .annotate(**{c: Sum(c) for c in DAY_COUNTERS})
        .order_by()
    )
    return {row.pop("device_id"): row for row in rows}


def _subtree_ids(unit: Unit):
    return Unit.objects.filter(path__startswith=unit.path).values("pk")


def inventory(amap: AreaMap, period: Period | None = None) -> dict[int, dict]:
    """Devices in service per area: loudspeaker clusters, e-boards, and stations by technology.

    For a period that ended before this month, the inventory recorded at the end of its last month (when the
    daily snapshot ran then); otherwise the current state.
    """
    if period is not None:
        this_month = timezone.localdate().replace(day=1)
        last_month = period.last.replace(day=1)
        if last_month < this_month:
            snapshot = InventoryMonth.objects.filter(month=last_month, unit_id__in=_subtree_ids(amap.unit))
            if snapshot.exists():
                return _with_zeros(_from_snapshot(amap, snapshot))
    return _with_zeros(_current_inventory(amap))


def _from_snapshot(amap: AreaMap, snapshot) -> dict[int, dict]:
    # Stations are counted per unit in a snapshot: a station whose devices sit in two communes of one area
    # counts twice there (rare: a commune station serves its own commune).
    rows = []
    for row in snapshot.values("unit_id", "kind", "technology", "devices", "stations"):
        rows.append(
            {
                "unit_id": row["unit_id"],
                f"devices_{row['kind']}": row["devices"],
                "devices": row["devices"],
                f"stations_{row['technology']}": row["stations"],
            }
        )
    return amap.fold(rows)


def _current_inventory(amap: AreaMap) -> dict[int, dict]:
    devices = (
        Device.objects.active()
        .filter(unit__path__startswith=amap.unit.path)
        .values("unit_id", "kind", "technology")
        .annotate(n=Count("pk"))
        .order_by()
    )
    stations = (
        Device.objects.active()
        .filter(unit__path__startswith=amap.unit.path, station__isnull=False)
        .values("unit_id", "technology", "station_id")
        .distinct()
        .order_by()
    )
    rows = []
    for row in devices:
        rows.append({"unit_id": row["unit_id"], f"devices_{row['kind']}": row["n"], "devices": row["n"]})
    out = amap.fold(rows)
    # A station counts once per area and technology, even if its devices sit in several communes of the area.
    seen: set[tuple] = set()
    station_rows = list(stations)
    amap.load({r["unit_id"] for r in station_rows})
    for row in station_rows:
        area = amap.area_of(row["unit_id"])
        if area is None or (area, row["technology"], row["station_id"]) in seen:
            continue
        seen.add((area, row["technology"], row["station_id"]))
        out[area][f"stations_{row['technology']}"] += 1
    return out


def _with_zeros(out: dict[int, dict]) -> dict[int, dict]:
    for figures in out.values():
        for kind in DeviceKind.values:
            figures.setdefault(f"devices_{kind}", 0)
        for technology in Technology.values:
            figures.setdefault(f"stations_{technology}", 0)
    return out


def content_sums(amap: AreaMap, period: Period) -> dict[int, dict]:
    """Bulletins published in the period's months, per area: by TT 39 class and by source level."""
    rows = (
        ContentMonth.objects.filter(
            month__gte=period.first.replace(day=1), month__lte=period.last, unit_id__in=_subtree_ids(amap.unit)
        )
        .values("unit_id", "priority", "source_level")
        .annotate(n=Sum("bulletins"))
        .order_by()
    )
    flat = []
    for row in rows:
        flat.append(
            {
                "unit_id": row["unit_id"],
                "bulletins": row["n"],
                f"bulletins_{row['priority']}": row["n"],
                f"source_{row['source_level']}": row["n"],
            }
        )
    out = amap.fold(flat)
    for figures in out.values():
        for priority in Priority.values:
            figures.setdefault(f"bulletins_{priority}", 0)
        for level in SourceLevel.values:
            figures.setdefault(f"source_{level}", 0)
    return out


def feedback_sums(amap: AreaMap, period: Period) -> dict[int, dict]:
    """Feedback received in the period about places in each area, and how much of it was answered on time."""
    if not apps.is_installed("nguon.feedback"):
        return {}
    from nguon.feedback.models import Feedback

    start, end = period.bounds()
    rows = (
        Feedback.objects.filter(received_at__gte=start, received_at__lt=end, unit__path__startswith=amap.unit.path)
        .values("unit_id")
        .annotate(
            feedback_received=Count("pk"),
            feedback_answered=Count("pk", filter=Q(answered_at__isnull=False)),
            feedback_on_time=Count("pk", filter=Q(answered_at__isnull=False, on_time=True)),
        )
        .order_by()
    )
    return amap.fold(rows)


def share(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


# Per-device sections list at most this many devices: a province of 10,000 is read per commune (its page, its
# files), and grouping a year of device-days for all of them would take seconds for a table nobody reads whole.
MAX_DEVICE_ROWS = 2000


def too_many_devices(unit: Unit) -> bool:
    return Device.objects.filter(unit__path__startswith=unit.path, is_active=True).count() > MAX_DEVICE_ROWS


def device_rows_note() -> str:
    from django.utils.translation import gettext as _

    return _("More than %(n)s devices: choose a smaller unit to list them one by one.") % {
        "n": f"{MAX_DEVICE_ROWS:,}".replace(",", ".")
    }


def subtree_devices(unit: Unit, also: set[int] | frozenset[int] = frozenset()) -> list[dict]:
    """Devices of the subtree in service now, plus those in `also` (devices with figures in the period, even if
    taken out of service since), with their commune, in unit then name order. One query."""
    condition = Q(is_active=True)
    if also:
        condition |= Q(pk__in=list(also))
    rows = (
        Device.objects.filter(unit__path__startswith=unit.path)
        .filter(condition)
        .values("pk", "code", "name", "kind", "is_active", "is_online", "unit_id", "unit__code", "unit__name")
        .order_by("unit__path", "code")
    )
    return list(rows)


def content_breakdown(unit: Unit, period: Period, *fields: str) -> list[dict]:
    """Bulletins published in the period's months in the subtree, grouped by the given ContentMonth fields."""
    return list(
        ContentMonth.objects.filter(
            month__gte=period.first.replace(day=1), month__lte=period.last, unit_id__in=_subtree_ids(unit)
        )
        .values(*fields)
        .annotate(n=Sum("bulletins"))
        .order_by()
    )


def blank_report(kind: str, title: str, unit: Unit, period: Period, cutoff) -> Report:
    """A report of `kind` for the unit and period, with no section yet."""
    return Report(
        kind=kind,
        title=title,
        unit_code=unit.code,
        unit_name=unit.name,
        period_kind=period.kind,
        period_value=period.value,
        period_label=period.label,
        first_day=period.first.isoformat(),
        last_day=period.last.isoformat(),
        cutoff_at=cutoff,
    )


def area_rows(unit: Unit, rows_units: list[Unit], *figures: dict[int, dict]) -> list[Unit]:
    """The area units to show: the areas, plus the report unit itself when it has figures of its own."""
    if unit not in rows_units and any(unit.pk in f for f in figures):
        return [*rows_units, unit]
    return rows_units


def area_label(area: Unit, unit: Unit, rows_units: list[Unit]) -> str:
    from django.utils.translation import gettext as _

    if area.pk != unit.pk or len(rows_units) == 1:
        return area.name
    return _("%(unit)s (own)") % {"unit": area.name}


__all__ = [
    "AreaMap", "area_label", "area_rows", "areas", "blank_report", "content_breakdown", "content_sums", "day_sums",
    "device_day_sums", "feedback_sums", "inventory", "subtree_devices",
]  # fmt: skip
