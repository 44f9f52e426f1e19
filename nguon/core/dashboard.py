"""The home page after sign-in: what needs this person now, by their roles, each item a link they may open.

Each section is built only for the roles it concerns (an editor sees no device list, an operator no approvals),
from querysets scoped to the person's unit subtrees, so every link leads to a page they can open.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from nguon.accounts.access import EVERYWHERE, grant_paths, scope_to_user
from nguon.accounts.roles import Capability, Role

LISTED = 8  # rows shown per section; the count and a link lead to the rest


@dataclass
class Section:
    rows: list = field(default_factory=list)
    count: int = 0


def _paths_for_roles(user, roles) -> list[str]:
    if user.is_superuser:
        return [EVERYWHERE]
    paths = sorted({g.unit.path for g in user.active_grants() if g.role in roles})
    return [p for p in paths if not any(p != kept and p.startswith(kept) for kept in paths)]


def _under(paths: list[str], field_name: str) -> Q:
    condition = Q()
    for path in paths:
        condition |= Q(**{f"{field_name}__startswith": path})
    return condition


def _cut(queryset) -> Section:
    rows = list(queryset[: LISTED + 1])
    count = len(rows) if len(rows) <= LISTED else queryset.count()
    return Section(rows=rows[:LISTED], count=count)


def bulletins_to_approve(user) -> Section | None:
    from nguon.content.models import Bulletin

    if not grant_paths(user, Capability.APPROVE_CONTENT):
        return None
    pending = scope_to_user(
        Bulletin.objects.awaiting_approval().select_related("owner_unit", "author"),
        user,
        Capability.APPROVE_CONTENT,
        path_field="owner_unit__path",
    )
    # Their own bulletins wait for someone else (unless the unit allows self-approval).
    pending = pending.exclude(Q(author=user) & Q(owner_unit__allow_self_approval=False))
    return _cut(pending.order_by("publish_at", "updated_at"))


def alerts_to_approve(user) -> Section | None:
    from nguon.alerts.models import Alert, AlertApproval, AlertState

    if not grant_paths(user, Capability.APPROVE_ALERTS):
        return None
    pending = scope_to_user(Alert.objects.filter(state=AlertState.PENDING).select_related("unit"), user,
                            Capability.APPROVE_ALERTS)  # fmt: skip
    pending = pending.exclude(pk__in=AlertApproval.objects.filter(user=user).values("alert_id"))
    return _cut(pending.order_by("created_at"))


def my_bulletins(user) -> Section | None:
    """The person's returned bulletins (to fix) first, then drafts not yet submitted."""
    from nguon.content.models import Bulletin, Status

    if not grant_paths(user, Capability.EDIT_CONTENT):
        return None
    mine = scope_to_user(
        Bulletin.objects.filter(author=user, status__in=[Status.RETURNED, Status.DRAFT]).select_related("owner_unit"),
        user,
        Capability.EDIT_CONTENT,
        path_field="owner_unit__path",
    )
    # Returned before drafts ("returned" sorts after "draft": order by it descending), most recent first.
    return _cut(mine.order_by("-status", "-updated_at"))


DEVICE_ROLES = frozenset({Role.OPERATOR, Role.TECHNICIAN, Role.ADMIN})


def offline_devices(user) -> Section | None:
    from nguon.broadcast.models import Device

    paths = _paths_for_roles(user, DEVICE_ROLES)
    if not paths:
        return None
    devices = Device.objects.active().filter(is_online=False).select_related("unit")
    if EVERYWHERE not in paths:
        devices = devices.filter(_under(paths, "unit__path"))
    return _cut(devices.order_by("-last_seen_at", "name"))


def todays_slots(user, now=None) -> Section | None:
    """Active slots of the person's units that play today, in time order (the ones already over are left out)."""
    from nguon.broadcast.models import Slot

    if not grant_paths(user, Capability.OPERATE_DEVICES):
        return None
    now = timezone.localtime(now)
    today = now.date()
    slots = scope_to_user(
        Slot.objects.active()
        .filter(start_date__lte=today)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        .select_related("unit"),
        user,
        Capability.OPERATE_DEVICES,
    ).order_by("start_time", "unit__path")
    todays = [s for s in slots[:500] if s.occurs_on(today) and s.end_time > now.time()]
    for slot in todays:
        slot.on_air = slot.start_time <= now.time()
    return Section(rows=todays[:LISTED], count=len(todays))


def current_alerts(user) -> Section:
    from nguon.alerts.access import alerts_for_user

    return _cut(alerts_for_user(user).current().order_by("-issued_at"))


def what_needs_me(user) -> dict:
    from nguon.notifications.queries import notifications_for

    return {
        "alerts_to_approve": alerts_to_approve(user),
        "bulletins_to_approve": bulletins_to_approve(user),
        "my_bulletins": my_bulletins(user),
        "offline_devices": offline_devices(user),
        "todays_slots": todays_slots(user),
        "current_alerts": current_alerts(user),
        "unread": _cut(notifications_for(user).unread().select_related("unit")),
    }
