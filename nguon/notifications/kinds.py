"""What each kind of notification is about: whose roles it concerns (for the preferences page), e-mail default."""

from __future__ import annotations

from dataclasses import dataclass

from nguon.accounts.roles import Capability, Role, roles_with
from nguon.notifications.models import Kind

# Devices going offline concern the people who look after devices, not everyone allowed to schedule programmes
# (approvers may operate devices too, but an editorial board does not want the fleet's every hiccup).
DEVICE_ROLES = frozenset({Role.OPERATOR, Role.TECHNICIAN})


def _roles(*capabilities: Capability) -> frozenset[Role]:
    return frozenset(role for c in capabilities for role in roles_with(c))


@dataclass(frozen=True)
class KindInfo:
    # Holders of these roles may receive the kind (the preferences page lists only those kinds).
    roles: frozenset[Role]
    # Sent by e-mail unless the person turns it off.
    email_default: bool


KINDS: dict[str, KindInfo] = {
    Kind.ALERT_PENDING: KindInfo(_roles(Capability.APPROVE_ALERTS), True),
    Kind.ALERT_WITHDRAWN: KindInfo(_roles(Capability.APPROVE_ALERTS, Capability.ISSUE_ALERTS), True),
    Kind.ALERT_ISSUED: KindInfo(_roles(Capability.ISSUE_ALERTS), False),
    Kind.ALERT_REJECTED: KindInfo(_roles(Capability.ISSUE_ALERTS), True),
    Kind.BULLETIN_SUBMITTED: KindInfo(_roles(Capability.APPROVE_CONTENT), True),
    Kind.BULLETIN_RETURNED: KindInfo(_roles(Capability.EDIT_CONTENT), True),
    Kind.BULLETIN_APPROVED: KindInfo(_roles(Capability.EDIT_CONTENT), False),
    Kind.DEADLINE: KindInfo(
        _roles(Capability.APPROVE_CONTENT, Capability.EDIT_CONTENT, Capability.APPROVE_ALERTS) | {Role.OPERATOR}, True
    ),
    Kind.DEVICES_OFFLINE: KindInfo(DEVICE_ROLES, True),
    Kind.FEEDBACK_RECEIVED: KindInfo(_roles(Capability.HANDLE_FEEDBACK), True),
    Kind.FEEDBACK_ASSIGNED: KindInfo(_roles(Capability.HANDLE_FEEDBACK), True),
    Kind.FEEDBACK_DRAFTED: KindInfo(_roles(Capability.APPROVE_FEEDBACK), True),
    Kind.FEEDBACK_RETURNED: KindInfo(_roles(Capability.HANDLE_FEEDBACK), True),
    Kind.FEEDBACK_REOPENED: KindInfo(_roles(Capability.HANDLE_FEEDBACK), True),
    Kind.FEEDBACK_DUE: KindInfo(_roles(Capability.HANDLE_FEEDBACK), True),
}


def kinds_for(user) -> list[str]:
    """The kinds that concern `user` by their current roles, in display order."""
    if user.is_superuser:
        return list(Kind.values)
    held = {grant.role for grant in user.active_grants()}
    return [kind for kind in Kind.values if held & KINDS[kind].roles]
