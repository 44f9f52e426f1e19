"""The back office's device API (/api/v1/devices): the fleet, one device, and proof-of-play figures, all scoped.

Devices themselves talk to /device/v1 (docs/device-protocol.md); this router is for staff and dashboards.
"""

from datetime import date, datetime
from typing import Literal

from django.db.models import F
from ninja import Field, Query, Router
from ninja.pagination import LimitOffsetPagination, paginate

from nguon.accounts.access import get_unit_for_user
from nguon.broadcast import monitoring
from nguon.broadcast.access import devices_for_user, get_device_for_user
from nguon.broadcast.models import DeviceKind, Technology
from nguon.core.collation import vi
from nguon.core.schemas import ERRORS, Schema

router = Router(tags=["devices"])
RECENT = 20


class DeviceOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    technology: str
    connectivity: str
    model: str
    unit_code: str = Field(..., alias="unit.code")
    unit_name: str = Field(..., alias="unit.name")
    latitude: float | None
    longitude: float | None
    volume: int
    is_active: bool
    is_online: bool
    last_seen_at: datetime | None
    clock_skew_ms: int | None
    current_item: str
    open_faults: int
    manifest_version: int | None


class StatusChangeOut(Schema):
    at: datetime
    online: bool
    reason: str


class FaultOut(Schema):
    code: str
    message: str
    at: datetime
    cleared_at: datetime | None


class HeartbeatOut(Schema):
    seq: int
    at: datetime
    volume: int | None
    temperature: float | None
    signal: int | None
    storage_free_mb: int | None
    clock_skew_ms: int | None
    current_item: str


class PlayOut(Schema):
    seq: int
    occurrence: str
    item: str
    started_at: datetime
    ended_at: datetime | None
    result: str


class DeviceDetailOut(DeviceOut):
    station: str | None
    grace_seconds: int
    is_drill: bool
    groups: list[str]
    manifest_compiled_at: datetime | None
    status_changes: list[StatusChangeOut]
    faults: list[FaultOut]
    heartbeats: list[HeartbeatOut]
    plays: list[PlayOut]

    @staticmethod
    def resolve_station(obj) -> str | None:
        return obj.station.name if obj.station_id else None

    @staticmethod
    def resolve_groups(obj) -> list[str]:
        return [g.name for g in obj.groups.all()]

    @staticmethod
    def resolve_manifest_compiled_at(obj) -> datetime | None:
        return obj.manifest_compiled_at

    @staticmethod
    def resolve_status_changes(obj):
        return obj.status_changes.all()[:RECENT]

    @staticmethod
    def resolve_faults(obj):
        return obj.faults.all()[:RECENT]

    @staticmethod
    def resolve_heartbeats(obj):
        return obj.heartbeats.order_by("-seq")[:RECENT]

    @staticmethod
    def resolve_plays(obj):
        return obj.plays.order_by("-seq")[:RECENT]


class FleetFilter(Schema):
    q: str = Field("", max_length=100)
    unit: str = Field("", description="unit code: the unit and every unit below it")
    kind: DeviceKind | None = None
    technology: Technology | None = None
    status: Literal["", "online", "offline", "never", "faults", "skewed", "inactive"] = ""


class TallyOut(Schema):
    planned: int
    played: int
    missed: int
    rate: float | None


class OccurrenceStatsOut(TallyOut):
    occurrence: str = Field(..., alias="key")
    slot: int = Field(..., alias="slot.pk")
    slot_name: str = Field(..., alias="slot.name")
    day: date
    start: datetime
    end: datetime


class UnitStatsOut(TallyOut):
    unit_code: str = Field(..., alias="unit.code")
    unit_name: str = Field(..., alias="unit.name")


class DayStatsOut(TallyOut):
    day: date


class StatsOut(Schema):
    date_from: date = Field(..., alias="first_day")
    date_to: date = Field(..., alias="last_day")
    total: TallyOut
    days: list[DayStatsOut]
    units: list[UnitStatsOut]
    occurrences: list[OccurrenceStatsOut]


class StatsFilter(Schema):
    date_from: date | None = None
    date_to: date | None = None
    unit: str = ""
    kind: DeviceKind | None = None


def _unit(request, code: str):
    return get_unit_for_user(request.auth, code) if code else None


@router.get("/", response=list[DeviceOut])
@paginate(LimitOffsetPagination)
def list_devices(request, filters: Query[FleetFilter]):
    """Devices in the caller's subtrees, with their monitoring state."""
    devices = monitoring.filter_fleet(
        devices_for_user(request.auth),
        q=filters.q,
        unit=_unit(request, filters.unit),
        kind=filters.kind or "",
        technology=filters.technology or "",
        status=filters.status,
    )
    return monitoring.with_monitoring(devices).order_by("unit__path", vi("name"), "pk")


@router.get("/stats", response={200: StatsOut, **ERRORS})
def play_stats(request, filters: Query[StatsFilter]):
    """Proof of play: planned against played, per day, per commune and per slot occurrence."""
    first_day, last_day = monitoring.stats_range(filters.date_from, filters.date_to)
    devices = monitoring.filter_fleet(
        devices_for_user(request.auth), unit=_unit(request, filters.unit), kind=filters.kind or ""
    )
    return monitoring.proof_of_play(devices, first_day, last_day)


@router.get("/{device_id}", response={200: DeviceDetailOut, **ERRORS})
def get_device(request, device_id: int):
    """One device with its recent status changes, faults, heartbeats and plays."""
    device = get_device_for_user(request.auth, device_id)
    devices = devices_for_user(request.auth).filter(pk=device.pk).select_related("station")
    return monitoring.with_monitoring(devices).annotate(manifest_compiled_at=F("manifest__compiled_at")).get()
