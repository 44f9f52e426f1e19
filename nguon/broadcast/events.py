"""Push events as devices receive them: signed payloads in Server-Sent Events frames (protocol §4).

The outbox (PushEvent rows) is written by actions and the worker; the Ninja SSE view and the gateway's hub both
read it through `after()` and send `DeviceEvent.frame()`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson

from nguon.broadcast.keys import signer
from nguon.broadcast.models import PushEvent
from nguon.broadcast.protocol import collect_hashes, iso_ms
from nguon.lib.signing import canonical, unb64

# Consumed by the gateway itself (drop the device's cached tokens, close its streams), never sent to devices.
INTERNAL_TYPES = PushEvent.UNSIGNED_TYPES
# Events without an expiry (manifest changes) stop mattering once a reconnecting device refetches its manifest.
DEFAULT_TTL = timedelta(minutes=10)
# Kept by the gateway until they expire, and replayed to a device that reconnects (with or without Last-Event-ID)
# unless it acknowledged them: an alert must reach a device that was offline when it went out.
STICKY_TYPES = frozenset({"alert", "alert_cancel"})
KEEPALIVE = b": keep-alive\n\n"
CONNECTED = b": connected\n\n"
# Events a gateway keeps for replay to devices reconnecting with Last-Event-ID (the Django fallback replays as many).
REPLAY_WINDOW = 1024
FIELDS = ("id", "type", "device_ids", "body", "created_at", "expires_at", "audience")


def b64url(data: bytes) -> str:
    """base64url *with* padding: decodes with any base64url decoder, and `=` is harmless in an SSE line."""
    return base64.urlsafe_b64encode(data).decode("ascii")


def sign_payload(payload: dict) -> str:
    """`<base64url payload>.<base64url Ed25519 signature of the payload bytes>`."""
    data = canonical(payload)
    return f"{b64url(data)}.{b64url(unb64(signer().sign(data)))}"


@dataclass(slots=True)
class DeviceEvent:
    id: int
    type: str
    device_ids: frozenset[int] | None  # None: every device
    body: dict
    at: datetime
    expires: datetime
    audience: dict = field(default_factory=dict)
    _shared_frame: bytes | None = field(default=None, repr=False)

    @classmethod
    def from_row(cls, row: dict) -> DeviceEvent:
        ids = row["device_ids"] or None
        return cls(
            id=row["id"],
            type=row["type"],
            device_ids=frozenset(int(i) for i in ids) if ids else None,
            body=row["body"] if isinstance(row["body"], dict) else {},
            at=row["created_at"],
            expires=row["expires_at"] or row["created_at"] + DEFAULT_TTL,
            audience=row.get("audience") or {},
        )

    @property
    def internal(self) -> bool:
        return self.type in INTERNAL_TYPES

    def is_for(self, device_id: int) -> bool:
        return self.device_ids is None or device_id in self.device_ids

    def expired(self, now: datetime) -> bool:
        return self.expires <= now

    @property
    def sticky(self) -> bool:
        return self.type in STICKY_TYPES

    @property
    def ack_key(self) -> int | None:
        """The alert an `alert` event carries (devices acknowledge it by this id)."""
        alert = self.body.get("alert") if self.type == "alert" else None
        value = alert.get("id") if isinstance(alert, dict) else None
        return value if isinstance(value, int) else None

    def hashes(self) -> set[str]:
        """Media this event names (a `play` item): the device may download them as if its manifest named them."""
        return collect_hashes(self.body)

    def frame(self, device_code: str) -> bytes:
        """The SSE frame for one device.

        An event addressed to exactly one device names it in `device`; any other is signed once with `device: "*"`
        and the same bytes go to every recipient, because one Ed25519 signature costs ~0.1 ms here and a broadcast
        to 10,000 devices must leave within a second. Either way `audience` (the units, groups and codes of the
        devices it was sent to) binds it to its recipients, so it cannot be replayed to another device.
        """
        if self.device_ids is not None and len(self.device_ids) == 1:
            return self._encode(device_code)
        if self._shared_frame is None:
            self._shared_frame = self._encode("*")
        return self._shared_frame

    def _encode(self, device: str) -> bytes:
        payload = {
            **self.body,
            "type": self.type,
            "id": self.id,
            "at": iso_ms(self.at),
            "expires": iso_ms(self.expires),
            "device": device,
        }
        if self.audience:
            payload["audience"] = self.audience
        return f"id: {self.id}\nevent: {self.type}\ndata: {sign_payload(payload)}\n\n".encode()


def poll_answer(found: list[DeviceEvent], device_code: str) -> bytes:
    """The body of GET /alerts (protocol §4.3): each event's id, type and signed `data`, the very string its SSE
    frame carries (an event for several devices reuses its shared frame: no signature per poll)."""
    listed = []
    for event in found:
        frame = event.frame(device_code)
        data = frame[frame.index(b"\ndata: ") + 7 : -2].decode()
        listed.append({"id": event.id, "type": event.type, "data": data})
    return orjson.dumps({"events": listed})


def after(last_id: int, limit: int = 500) -> list[DeviceEvent]:
    """Outbox rows newer than `last_id`, oldest first (one query)."""
    rows = PushEvent.objects.filter(id__gt=last_id).order_by("id").values(*FIELDS)[:limit]
    return [DeviceEvent.from_row(row) for row in rows]


def since(moment: datetime, limit: int = 1000) -> list[DeviceEvent]:
    """The latest outbox rows created after `moment`, oldest first (one query): replay material at start-up."""
    rows = PushEvent.objects.filter(created_at__gt=moment).order_by("-id").values(*FIELDS)[:limit]
    return [DeviceEvent.from_row(row) for row in reversed(rows)]


def unexpired_sticky(now: datetime, limit: int = 1000) -> list[DeviceEvent]:
    """Sticky events (alerts) that have not expired, oldest first: the gateway holds them from start-up."""
    rows = PushEvent.objects.filter(type__in=STICKY_TYPES, expires_at__gt=now).order_by("-id").values(*FIELDS)[:limit]
    return [DeviceEvent.from_row(row) for row in reversed(rows)]


# Hooks the alerts app fills in (broadcast does not import it):
# - ACKNOWLEDGED: callables returning (alert id, device id) pairs already acknowledged: called without arguments,
#   those of the current alerts (read at gateway start-up); with (device_id, alert_ids), that device's of those
#   alerts (the Django fallback, per request);
# - ON_SENT: event type → callable(event, device ids, at) run in the gateway's writer thread once the event is
#   queued on those devices' streams.
ACKNOWLEDGED: list = []
ON_SENT: dict = {}


def latest_id() -> int:
    return PushEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def parse_last_event_id(value: str | None) -> int | None:
    """The Last-Event-ID a reconnecting device sends, or None when absent or not an id."""
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None
