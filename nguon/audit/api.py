from ninja import Query, Router
from ninja.pagination import LimitOffsetPagination, paginate

from nguon.audit.queries import events_for_user
from nguon.audit.schemas import EventOut
from nguon.core.errors import Forbidden
from nguon.core.schemas import Schema

router = Router(tags=["audit"])


class EventFilter(Schema):
    action: str = ""
    actor: str = ""
    unit: str = ""


@router.get("/events", response=list[EventOut])
@paginate(LimitOffsetPagination)
def list_events(request, filters: Query[EventFilter]):
    """Audit events within the caller's units, newest first."""
    events = events_for_user(request.auth)
    if events is None:
        raise Forbidden()
    if filters.action:
        events = events.filter(action__icontains=filters.action)
    if filters.actor:
        events = events.filter(actor_label__icontains=filters.actor)
    if filters.unit:
        events = events.filter(unit__code=filters.unit)
    return events
