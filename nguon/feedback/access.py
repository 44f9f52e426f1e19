"""Who sees which feedback: the items about a place in the user's subtrees, or handled by a unit in them."""

from __future__ import annotations

from django.db.models import Q

from nguon.accounts.access import EVERYWHERE, can, covers_everything, grant_paths
from nguon.accounts.roles import Capability
from nguon.core.errors import NotFound
from nguon.feedback.models import Feedback
from nguon.units.models import Unit

LIST_RELATED = ("topic", "unit", "handler_unit", "handler_organisation", "assignee")


def feedback_for_user(user, capability: Capability = Capability.VIEW):
    """Feedback whose place (`unit`) or handling unit lies in the user's subtrees for `capability`."""
    paths = grant_paths(user, capability)
    base = Feedback.objects.select_related(*LIST_RELATED)
    if not paths:
        return base.none()
    if EVERYWHERE in paths or covers_everything(user, capability):
        return base
    # The subtrees' unit ids as a subquery: the feedback table is then filtered on its own indexed columns
    # (unit_id, handler_unit_id), without joining the units for every row.
    within = Q()
    for path in paths:
        within |= Q(path__startswith=path)
    units = Unit.objects.filter(within).values("pk")
    return base.filter(Q(unit__in=units) | Q(handler_unit__in=units))


def get_feedback_for_user(user, pk: int, capability: Capability = Capability.VIEW) -> Feedback:
    """Return the feedback, or raise NotFound (404) when it lies outside the user's units."""
    feedback = feedback_for_user(user, capability).filter(pk=pk).first()
    if feedback is None:
        raise NotFound()
    return feedback


def can_handle(user, feedback: Feedback) -> bool:
    return can(user, Capability.HANDLE_FEEDBACK, feedback.handler_unit)


def can_approve(user, feedback: Feedback) -> bool:
    return can(user, Capability.APPROVE_FEEDBACK, feedback.handler_unit)


def may_see_contact(user, feedback: Feedback) -> bool:
    """The citizen's contact details are for the assigned person; while nobody is assigned, for the handlers of
    the handling unit. Nobody sees them once erased."""
    if feedback.personal_data_erased_at is not None or not feedback.has_contact:
        return False
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if feedback.assignee_id:
        return feedback.assignee_id == user.pk
    return can_handle(user, feedback)
