"""Which alerts a user may see: those issued by units in the user's subtrees (views and the API share these)."""

from __future__ import annotations

from nguon.accounts.access import require, scope_to_user
from nguon.accounts.roles import Capability
from nguon.alerts.models import Alert
from nguon.core.errors import NotFound


def alerts_for_user(user, capability: Capability = Capability.VIEW):
    return scope_to_user(Alert.objects.select_related("unit"), user, capability)


def get_alert_for_user(user, alert_id: int, capability: Capability = Capability.VIEW) -> Alert:
    """Return the alert, 404 when it lies outside the user's units, 403 when they lack `capability` on its unit."""
    alert = alerts_for_user(user).filter(pk=alert_id).first()
    if alert is None:
        raise NotFound()
    if capability != Capability.VIEW:
        require(user, capability, alert.unit)
    return alert
