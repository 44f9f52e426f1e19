"""Which devices an alert reaches, and sending it to them: dispatch rows, then one signed push event per device kind.

Targets: active devices inside the issuing unit's subtree that are in one of the area's units or whose coordinates
fall inside one of its polygons or circles. Exercise and Test alerts go only to devices marked for drills; System
and Draft messages go nowhere. Loudspeakers need the alert's audio: while it renders their rows wait (queued) and
e-boards are told at once; `send_audio` tells the loudspeakers when the audio is ready.
"""

from __future__ import annotations

import math
from datetime import timedelta

import orjson
from django.db import connections, router, transaction
from django.db.models import Count, Q
from django.utils import timezone

from nguon.alerts.models import (
    DELIVERED_STATES,
    DRILL_STATUSES,
    Alert,
    AlertDispatch,
    AlertState,
    AudioState,
    CapStatus,
    DispatchState,
)
from nguon.broadcast.manifest import MEDIA_PATH
from nguon.broadcast.models import Device, DeviceKind, PushEvent
from nguon.broadcast.protocol import iso_ms
from nguon.lib import geo

# An alert without an expiry stays on the event channel this long (CAP makes `expires` optional).
DEFAULT_LIFETIME = timedelta(hours=6)
PLAYABLE = (CapStatus.ACTUAL, *DRILL_STATUSES)
KM_PER_DEGREE = 111.0  # a little under the true 111.2: the box is only a prefilter and must not be too small


def _subtrees(paths) -> Q:
    condition = Q(pk__in=[])
    for path in paths:
        condition |= Q(unit__path__startswith=path)
    return condition


def _shapes_condition(alert: Alert) -> Q:
    """A bounding-box prefilter in SQL for the polygons and circles; the exact test runs in Python."""
    condition = Q(pk__in=[])
    for ring in alert.polygons:
        lats, lons = [p[0] for p in ring], [p[1] for p in ring]
        condition |= Q(latitude__range=(min(lats), max(lats)), longitude__range=(min(lons), max(lons)))
    for lat, lon, radius in alert.circles:
        dlat = radius / KM_PER_DEGREE
        dlon = radius / (KM_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01))
        condition |= Q(latitude__range=(lat - dlat, lat + dlat), longitude__range=(lon - dlon, lon + dlon))
    return condition


def _inside_shapes(alert: Alert, lat, lon) -> bool:
    if lat is None or lon is None:
        return False
    return any(geo.point_in_polygon(lat, lon, ring) for ring in alert.polygons) or any(
        geo.point_in_circle(lat, lon, circle) for circle in alert.circles
    )


def target_devices(alert: Alert, *, area_units=None) -> list[tuple[int, str]]:
    """(device id, kind) of every device the alert reaches, in id order. `area_units` stands in for the alert's
    own units when it is not saved yet (the compose form's reach check)."""
    if alert.status not in PLAYABLE:
        return []
    # No ordering (the result is sorted by id below): Device's default order is the Vietnamese collation, a Python
    # function on SQLite that takes seconds over 10,000 devices, on the path from the approval click to the devices.
    devices = Device.objects.active().filter(unit__path__startswith=alert.unit.path).order_by()
    if alert.status in DRILL_STATUSES:
        devices = devices.filter(is_drill=True)
    if area_units is None:
        unit_paths = list(alert.area_units.values_list("path", flat=True))
    else:
        unit_paths = [u.path for u in area_units]
    found: dict[int, str] = {}
    if unit_paths:
        found.update(devices.filter(_subtrees(unit_paths)).values_list("pk", "kind"))
    if alert.polygons or alert.circles:
        for pk, kind, lat, lon in devices.filter(_shapes_condition(alert)).values_list(
            "pk", "kind", "latitude", "longitude"
        ):
            if pk not in found and _inside_shapes(alert, lat, lon):
                found[pk] = kind
    return sorted(found.items())


def lifetime_end(alert: Alert, now=None):
    now = now or timezone.now()
    return alert.expires or max(now, alert.sent) + DEFAULT_LIFETIME


def alert_payload(alert: Alert) -> dict:
    """The `alert` object of the event (protocol §4.1)."""
    replaces = [alert.replaces_id] if alert.replaces_id else []
    return {
        "id": alert.pk,
        "identifier": alert.identifier,
        "status": alert.status,
        "msg_type": alert.msg_type,
        "replaces": replaces,
        "event": alert.event,
        "severity": alert.severity,
        "urgency": alert.urgency,
        "certainty": alert.certainty,
        "headline": alert.headline,
        "description": alert.description,
        "instruction": alert.instruction,
        "sender_name": alert.sender_name,
        "language": alert.language,
        "onset": iso_ms(alert.onset) if alert.onset else None,
        "expires": iso_ms(lifetime_end(alert)),
    }


def audio_item(alert: Alert) -> dict | None:
    asset = alert.audio
    if alert.audio_state != AudioState.READY or asset is None:
        return None
    return {
        "kind": "audio",
        "alert": alert.pk,
        "title": alert.headline,
        "sha256": asset.sha256,
        "size": asset.size,
        "url": MEDIA_PATH + asset.sha256,
        "duration": asset.duration,
    }


def _event(alert: Alert, device_ids: list[int], item: dict | None) -> PushEvent | None:
    if not device_ids:  # an empty list would mean every device
        return None
    return PushEvent.objects.create(
        type="alert",
        device_ids=device_ids,
        body={"alert": alert_payload(alert), "item": item},
        expires_at=lifetime_end(alert),
    )


def dispatch(alert: Alert, *, now=None) -> list[PushEvent]:
    """Push the alert and create its dispatch rows (inside the caller's transaction). Idempotent: devices that
    already have a row are not sent it again. Loudspeakers wait (no event) while the sound is not ready."""
    now = now or timezone.now()
    if alert.state != AlertState.ISSUED or alert.is_expired(now):
        return []
    known = set(AlertDispatch.objects.filter(alert=alert).values_list("device_id", flat=True))
    new = [(pk, kind) for pk, kind in target_devices(alert) if pk not in known]
    boards = [pk for pk, kind in new if kind == DeviceKind.BOARD]
    speakers = [pk for pk, kind in new if kind != DeviceKind.BOARD]
    item = audio_item(alert)
    groups = [(boards, _event(alert, boards, None)), (speakers, _event(alert, speakers, item) if item else None)]
    board_event, speaker_event = (event.pk if event else None for _ids, event in groups)
    _insert_dispatches(alert, [pk for pk, _kind in new], board_event, speaker_event, now)
    return [event for _ids, event in groups if event is not None]


def _insert_dispatches(alert: Alert, device_ids: list[int], board_event, speaker_event, now) -> None:
    """The dispatch rows of these devices in one INSERT … SELECT (the ids travel as one JSON array parameter),
    each pointing at its kind's event: 10,000 rows cost one statement, not 10,000 model instances."""
    if not device_ids:
        return
    connection = connections[router.db_for_write(AlertDispatch)]
    quote = connection.ops.quote_name
    meta, devices = AlertDispatch._meta, Device._meta.db_table
    if connection.vendor == "postgresql":
        ids = "SELECT CAST(value AS bigint) FROM jsonb_array_elements_text(CAST(%s AS jsonb))"
    else:
        ids = "SELECT value FROM json_each(%s)"
    columns = ", ".join(quote(meta.get_field(name).column) for name in ("alert", "device", "state", "event_id",
                                                                        "queued_at", "reason"))  # fmt: skip
    event = "CASE WHEN d.kind = %s THEN CAST(%s AS bigint) ELSE CAST(%s AS bigint) END"
    select = f"SELECT %s, d.id, %s, {event}, %s, '' FROM {quote(devices)} d"  # noqa: S608
    # Names from the models, values as parameters.
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) {select} WHERE d.id IN ({ids}) ON CONFLICT DO NOTHING"  # noqa: S608
    params = [alert.pk, DispatchState.QUEUED, DeviceKind.BOARD, board_event, speaker_event,
              connection.ops.adapt_datetimefield_value(now), orjson.dumps(device_ids).decode()]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def resend_to(alert: Alert, device: Device) -> PushEvent | None:
    """Send a current alert to one device that starts afresh (just enrolled, or enrolled again after losing its
    storage). A device the alert had not reached yet (added since it was issued) is dispatched to like any other;
    one that had it already gets a new event and its row goes back to queued: it must show and acknowledge it again."""
    with transaction.atomic():
        alert = Alert.objects.select_for_update(of=("self",)).select_related("audio", "unit").get(pk=alert.pk)
        if alert.state != AlertState.ISSUED or alert.is_expired():
            return None
        row = AlertDispatch.objects.filter(alert=alert, device=device).first()
        if row is None:
            events = dispatch(alert)
            return next((e for e in events if device.pk in e.device_ids), None)
        item = None if device.kind == DeviceKind.BOARD else audio_item(alert)
        if device.kind != DeviceKind.BOARD and item is None:
            return None  # a loudspeaker waits for the audio: send_audio tells it
        event = _event(alert, [device.pk], item)
        AlertDispatch.objects.filter(pk=row.pk).update(state=DispatchState.QUEUED, event_id=event.pk)
        return event


def send_audio(alert: Alert) -> PushEvent | None:
    """The audio is ready: push the alert to the loudspeakers still waiting for it."""
    with transaction.atomic():
        alert = Alert.objects.select_for_update(of=("self",)).select_related("audio", "unit").get(pk=alert.pk)
        item = audio_item(alert)
        if item is None or alert.state != AlertState.ISSUED or alert.is_expired():
            return None
        waiting = AlertDispatch.objects.filter(
            alert=alert, state=DispatchState.QUEUED, event_id__isnull=True, device__kind=DeviceKind.SPEAKER
        )
        event = _event(alert, sorted(waiting.values_list("device_id", flat=True)), item)
        if event is not None:
            waiting.update(event_id=event.pk)
        return event


def retract(alert: Alert) -> PushEvent | None:
    """Tell the devices that got an alert to stop it and forget it (a Cancel, or a superseding Update)."""
    device_ids = sorted(AlertDispatch.objects.filter(alert=alert).values_list("device_id", flat=True))
    if not device_ids:
        return None
    return PushEvent.objects.create(
        type="alert_cancel",
        device_ids=device_ids,
        body={"alert": {"id": alert.pk}},
        expires_at=lifetime_end(alert),
    )


def counts(alert: Alert) -> dict:
    """Dispatch rows per state, and per commune per state, for the delivery page."""
    by_state = dict.fromkeys(DispatchState.values, 0)
    by_unit: dict[tuple[str, str], dict[str, int]] = {}
    rows = (
        AlertDispatch.objects.filter(alert=alert)
        .values_list("device__unit__code", "device__unit__name", "state")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for code, name, state, n in rows:
        by_state[state] += n
        by_unit.setdefault((code, name), dict.fromkeys(DispatchState.values, 0))[state] += n
    return {"total": sum(by_state.values()), "by_state": by_state, "by_unit": dict(sorted(by_unit.items()))}


def delivered(by_state: dict[str, int]) -> int:
    """Devices that have the alert: every state in DELIVERED_STATES."""
    return sum(by_state.get(state, 0) for state in DELIVERED_STATES)


STATE_TIME = {
    DispatchState.QUEUED: "queued_at",
    DispatchState.SENT: "sent_at",
    DispatchState.ACKNOWLEDGED: "acknowledged_at",
    DispatchState.PLAYED: "played_at",
    DispatchState.DISPLAYED: "played_at",
    DispatchState.FAILED: "failed_at",
}


def dispatches_in_state(alert: Alert, state: str, unit_code: str = ""):
    """The alert's dispatch rows in one state (optionally of one unit's devices), with their devices."""
    rows = AlertDispatch.objects.filter(alert=alert, state=state).select_related("device", "device__unit")
    if unit_code:
        rows = rows.filter(device__unit__code=unit_code)
    return rows.order_by("device__unit__path", "device__name", "device_id")
