"""The caller's own notifications: list, unread summary, mark read, channel preferences."""

from django.utils.translation import gettext as _
from ninja import Query, Router
from ninja.pagination import LimitOffsetPagination, paginate

from nguon.core.errors import Invalid, NotFound
from nguon.core.schemas import ERRORS, Schema
from nguon.notifications import actions, channels
from nguon.notifications.kinds import kinds_for
from nguon.notifications.models import Kind
from nguon.notifications.queries import badge_state, notifications_for
from nguon.notifications.schemas import MarkedOut, NotificationOut, PreferenceIn, PreferenceOut, ReadIn, SummaryOut

router = Router(tags=["notifications"])


class NotificationFilter(Schema):
    unread: bool = False
    kind: str = ""


@router.get("/", response=list[NotificationOut])
@paginate(LimitOffsetPagination)
def list_notifications(request, filters: Query[NotificationFilter]):
    """The caller's notifications, newest first."""
    rows = notifications_for(request.auth).select_related("unit").prefetch_related("deliveries")
    if filters.unread:
        rows = rows.unread()
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    return rows


@router.get("/summary", response=SummaryOut)
def summary(request):
    """What the bell shows: the unread count and the newest notification that sounds."""
    return badge_state(request.auth)


@router.post("/read", response={200: MarkedOut, **ERRORS})
def mark_read(request, payload: ReadIn):
    """Mark the given notifications read (the caller's own; others' ids are ignored)."""
    return {"marked": actions.mark_read(request.auth, payload.ids)}


@router.post("/read-all", response={200: MarkedOut, **ERRORS})
def mark_all_read(request):
    return {"marked": actions.mark_all_read(request.auth)}


def _preferences(user) -> list[dict]:
    result = []
    for kind in kinds_for(user):
        wanted = actions.channel_wishes([user], kind)[user.pk]
        result.append(
            {
                "kind": kind,
                "label": str(Kind(kind).label),
                "channels": {c.name: c.name in wanted for c in channels.all_channels()},
            }
        )
    return result


@router.get("/preferences", response=list[PreferenceOut])
def get_preferences(request):
    """Which kinds reach the caller through each outside channel (every kind always shows under the bell)."""
    return _preferences(request.auth)


@router.put("/preferences", response={200: list[PreferenceOut], **ERRORS})
def put_preferences(request, payload: list[PreferenceIn]):
    allowed = set(kinds_for(request.auth))
    names = {c.name for c in channels.all_channels()}
    errors: dict[str, list[str]] = {}
    choices = {}
    for index, item in enumerate(payload):
        if item.kind not in allowed:
            errors.setdefault(f"{index}.kind", []).append(_("Unknown kind, or not one your roles receive."))
        for name, enabled in item.channels.items():
            if name not in names:
                errors.setdefault(f"{index}.channels", []).append(_("Unknown channel: %(name)s.") % {"name": name})
            else:
                choices[(item.kind, name)] = enabled
    if errors:
        raise Invalid(fields=errors)
    actions.set_channel_choices(request.auth, choices, acting_user=request.auth)
    return _preferences(request.auth)


@router.get("/{notification_id}", response={200: NotificationOut, **ERRORS})
def get_notification(request, notification_id: int):
    notification = notifications_for(request.auth).filter(pk=notification_id).first()
    if notification is None:
        raise NotFound()
    return notification
