"""Device authentication: a bearer token, stored hashed, that is not revoked and belongs to an active device."""

from __future__ import annotations

from dataclasses import dataclass

from ninja.security import HttpBearer

from nguon.broadcast.actions import token_hash
from nguon.broadcast.models import Device, DeviceToken


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """What the gateway keeps per token: enough to route events and file reports without a query."""

    id: int
    code: str


def _usable_tokens():
    return DeviceToken.objects.filter(revoked_at__isnull=True, device__is_active=True)


def lookup(hashed: str) -> DeviceRef | None:
    """The device of a usable token, given the token's hash (`actions.token_hash`), or None (one query)."""
    rows = _usable_tokens().filter(token_hash=hashed).values_list("device_id", "device__code")[:1]
    return DeviceRef(*rows[0]) if rows else None


def device_for_token(token: str) -> Device | None:
    """The Device a usable token belongs to, or None (one query)."""
    hashed = token_hash(token)
    found = Device.objects.filter(is_active=True, tokens__token_hash=hashed, tokens__revoked_at__isnull=True)
    return next(iter(found.order_by()[:1]), None)


def active_tokens() -> dict[str, DeviceRef]:
    """token hash → device for every usable token (the gateway's warm-up, one query)."""
    rows = _usable_tokens().values_list("token_hash", "device_id", "device__code")
    return {h: DeviceRef(pk, code) for h, pk, code in rows}


class DeviceBearer(HttpBearer):
    """`Authorization: Bearer nd1_…`; `request.auth` is the Device."""

    def authenticate(self, request, token: str) -> Device | None:
        return device_for_token(token)
