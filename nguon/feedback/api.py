"""Staff JSON API for feedback (/api/v1/feedback/): the same scoping and actions as the back-office pages."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router

from nguon.core.errors import Invalid
from nguon.core.schemas import ERRORS
from nguon.feedback import actions
from nguon.feedback.access import feedback_for_user, get_feedback_for_user
from nguon.feedback.models import Topic
from nguon.feedback.privacy import do_view_contact
from nguon.feedback.schemas import (
    AnswerIn,
    ApproveIn,
    AssignIn,
    CommentIn,
    ContactOut,
    FeedbackDetailOut,
    FeedbackFilter,
    FeedbackPageOut,
    NoteIn,
    RefuseIn,
    TransferIn,
)
from nguon.feedback.staff_views import filter_feedback
from nguon.units.models import Organisation, Unit

router = Router(tags=["feedback"])


def _detail(request, pk: int):
    return get_feedback_for_user(request.auth, pk)


@router.get("/", response={200: FeedbackPageOut, **ERRORS})
def list_feedback(request, filters: Query[FeedbackFilter]):
    """Feedback about places in the caller's units or handled by them; pages without a total count."""
    data = filters.dict(exclude={"limit", "offset", "topic", "unit"})
    if filters.topic:
        data["topic"] = Topic.objects.filter(code=filters.topic).first()
        if data["topic"] is None:
            raise Invalid(fields={"topic": [_("Unknown topic.")]})
    if filters.unit:
        data["unit"] = Unit.objects.filter(code=filters.unit).first()
        if data["unit"] is None:
            raise Invalid(fields={"unit": [_("Unknown unit.")]})
    queryset = filter_feedback(feedback_for_user(request.auth), data, request.auth, timezone.now())
    rows = list(queryset[filters.offset : filters.offset + filters.limit + 1])
    more = len(rows) > filters.limit
    return {"items": rows[: filters.limit], "next_offset": filters.offset + filters.limit if more else None}


@router.get("/{pk}", response={200: FeedbackDetailOut, **ERRORS})
def get_feedback(request, pk: int):
    """One item with its history and files; contact details are read with POST /{pk}/contact (audited)."""
    return _detail(request, pk)


@router.post("/{pk}/contact", response={200: ContactOut, **ERRORS})
def view_contact(request, pk: int):
    """The citizen's contact details, for the assigned person (or, unassigned, the handlers); each read audited."""
    return do_view_contact(get_feedback_for_user(request.auth, pk), acting_user=request.auth)


def _reload(request, feedback):
    # Read back through the scope (with its joins); a transfer may have taken the item out of the caller's units.
    return feedback_for_user(request.auth).filter(pk=feedback.pk).first() or feedback


@router.post("/{pk}/accept", response={200: FeedbackDetailOut, **ERRORS})
def accept(request, pk: int):
    return _reload(request, actions.do_accept_feedback(_detail(request, pk), acting_user=request.auth))


@router.post("/{pk}/refuse", response={200: FeedbackDetailOut, **ERRORS})
def refuse(request, pk: int, payload: RefuseIn):
    feedback = _detail(request, pk)
    duplicate = None
    if payload.duplicate_of.strip():
        duplicate = feedback_for_user(request.auth).filter(number__iexact=payload.duplicate_of.strip()).first()
        if duplicate is None:
            raise Invalid(
                _("The feedback was not refused."),
                fields={"duplicate_of": [_("No feedback with this number within your units.")]},
            )
    feedback = actions.do_refuse_feedback(
        feedback, acting_user=request.auth, reason=payload.reason, note=payload.note, duplicate_of=duplicate
    )
    return _reload(request, feedback)


@router.post("/{pk}/assign", response={200: FeedbackDetailOut, **ERRORS})
def assign(request, pk: int, payload: AssignIn):
    from nguon.accounts.models import User

    assignee = User.objects.filter(pk=payload.assignee).first()
    feedback = actions.do_assign_feedback(_detail(request, pk), acting_user=request.auth, assignee=assignee)
    return _reload(request, feedback)


@router.post("/{pk}/start", response={200: FeedbackDetailOut, **ERRORS})
def start(request, pk: int):
    return _reload(request, actions.do_start_feedback(_detail(request, pk), acting_user=request.auth))


@router.post("/{pk}/draft", response={200: FeedbackDetailOut, **ERRORS})
def draft(request, pk: int, payload: AnswerIn):
    feedback = actions.do_draft_answer(_detail(request, pk), acting_user=request.auth, answer=payload.answer)
    return _reload(request, feedback)


@router.post("/{pk}/approve", response={200: FeedbackDetailOut, **ERRORS})
def approve(request, pk: int, payload: ApproveIn):
    feedback = actions.do_approve_answer(_detail(request, pk), acting_user=request.auth, send=payload.send)
    return _reload(request, feedback)


@router.post("/{pk}/return", response={200: FeedbackDetailOut, **ERRORS})
def return_answer(request, pk: int, payload: CommentIn):
    feedback = actions.do_return_answer(_detail(request, pk), acting_user=request.auth, comment=payload.comment)
    return _reload(request, feedback)


@router.post("/{pk}/send", response={200: FeedbackDetailOut, **ERRORS})
def send(request, pk: int):
    return _reload(request, actions.do_send_answer(_detail(request, pk), acting_user=request.auth))


@router.post("/{pk}/close", response={200: FeedbackDetailOut, **ERRORS})
def close(request, pk: int):
    return _reload(request, actions.do_close_feedback(_detail(request, pk), acting_user=request.auth))


@router.post("/{pk}/transfer", response={200: FeedbackDetailOut, **ERRORS})
def transfer(request, pk: int, payload: TransferIn):
    organisation = Organisation.objects.filter(pk=payload.organisation).select_related("unit").first()
    feedback = actions.do_transfer_feedback(
        _detail(request, pk), acting_user=request.auth, organisation=organisation, reason=payload.reason
    )
    return _reload(request, feedback)


@router.post("/{pk}/note", response={200: FeedbackDetailOut, **ERRORS})
def note(request, pk: int, payload: NoteIn):
    feedback = actions.do_add_note(_detail(request, pk), acting_user=request.auth, text=payload.text)
    return _reload(request, feedback)
