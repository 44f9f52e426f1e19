"""Expand time-anchored slots into exact occurrences, and find overlaps before they are saved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from nguon.broadcast.models import Device, Slot

MANIFEST_DAYS = 4


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


@dataclass(frozen=True)
class Occurrence:
    slot: Slot
    day: date
    start: datetime  # aware, UTC
    end: datetime

    @property
    def key(self) -> str:
        """Stable identifier of this occurrence, used in proof-of-play reports."""
        return f"{self.slot.pk}@{self.day.isoformat()}"


def occurrences(slot: Slot, first_day: date, days: int) -> list[Occurrence]:
    zone = local_zone()
    found = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        if slot.occurs_on(day):
            start = datetime.combine(day, slot.start_time, tzinfo=zone).astimezone(ZoneInfo("UTC"))
            end = datetime.combine(day, slot.end_time, tzinfo=zone).astimezone(ZoneInfo("UTC"))
            found.append(Occurrence(slot, day, start, end))
    return found


def slots_for_device(device: Device, slots=None):
    """Active slots that reach this device: of its unit or an ancestor, its groups, its kind."""
    codes = device.unit.path.strip("/").split("/")
    group_ids = {g.pk for g in device.groups.all()}
    candidates = slots if slots is not None else Slot.objects.active().filter(unit__code__in=codes)
    return [
        s
        for s in candidates
        if s.unit.code in codes
        and (s.group_id is None or s.group_id in group_ids)
        and (not s.device_kind or s.device_kind == device.kind)
    ]


def overlapping(candidate: Slot, others, horizon_days: int = 366) -> list[Slot]:
    """Slots among `others` that share a day and a moment with `candidate` (same audience is the caller's job)."""
    clashes = []
    last = candidate.end_date or candidate.start_date + timedelta(days=horizon_days)
    for other in others:
        if other.pk == candidate.pk or not other.is_active:
            continue
        if not (candidate.start_time < other.end_time and other.start_time < candidate.end_time):
            continue
        first = max(candidate.start_date, other.start_date)
        end = min(last, other.end_date or last)
        day = first
        # Weekly patterns repeat, so a week of shared days is enough to decide.
        for _ in range(min((end - first).days + 1, 8)):
            if candidate.occurs_on(day) and other.occurs_on(day):
                clashes.append(other)
                break
            day += timedelta(days=1)
    return clashes
