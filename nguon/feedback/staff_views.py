"""Back-office pages for feedback: the list, one item with the steps its reader may take now, files, staff entry.

Views parse input and check access; every change goes through nguon.feedback.actions (or privacy.py for the audited
reading of contact details).
"""

from __future__ import annotations

from datetime import datetime, time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from nguon.accounts.access import grant_paths, is_root_admin
from nguon.accounts.forms import add_domain_error
from nguon.accounts.roles import Capability
from nguon.audit.labels import action_label, actor_label
from nguon.core.errors import DomainError, Forbidden, Invalid, NotFound
from nguon.feedback import actions
from nguon.feedback.access import (
    can_approve,
    can_handle,
    feedback_for_user,
    get_feedback_for_user,
    may_see_contact,
)
from nguon.feedback.forms import (
    OPEN,
    AnswerForm,
    AssignForm,
    FeedbackFilterForm,
    NoteForm,
    RefuseForm,
    ReturnForm,
    StaffFeedbackForm,
    TransferForm,
)
from nguon.feedback.models import OPEN_STATUSES, Status
from nguon.feedback.privacy import do_view_contact
from nguon.lib.folding import fold

PER_PAGE = 50


# --- The list -----------------------------------------------------------------------------------------------------


def filter_feedback(queryset, data: dict, user, now=None):
    """Apply the list's filters and order (the page's form and the API give the same keys; a missing or empty key
    is no filter): q, status ("open" or a status), topic, unit (a Unit: its subtree), channel, overdue, mine,
    date_from, date_to, sort."""
    now = now or timezone.now()
    q = (data.get("q") or "").strip()
    if q:
        if q.upper().startswith("PA-"):
            queryset = queryset.filter(number__iexact=q)
        else:
            queryset = queryset.filter(text_folded__contains=fold(q))
    status = data.get("status")
    if status == OPEN:
        queryset = queryset.filter(status__in=OPEN_STATUSES)
    elif status:
        queryset = queryset.filter(status=status)
    if data.get("overdue"):
        queryset = queryset.overdue(now)
    if data.get("topic"):
        queryset = queryset.filter(topic=data["topic"])
    if data.get("unit"):
        queryset = queryset.filter(unit__path__startswith=data["unit"].path)
    if data.get("channel"):
        queryset = queryset.filter(channel=data["channel"])
    if data.get("mine"):
        queryset = queryset.filter(assignee=user)
    tz = timezone.get_current_timezone()
    if data.get("date_from"):
        queryset = queryset.filter(received_at__gte=datetime.combine(data["date_from"], time.min, tzinfo=tz))
    if data.get("date_to"):
        queryset = queryset.filter(received_at__lte=datetime.combine(data["date_to"], time.max, tzinfo=tz))
    order = {
        "received": ("received_at", "pk"),
        "due": (F("due_at").asc(nulls_last=True), "pk"),
        "-due": (F("due_at").desc(nulls_last=True), "-pk"),
    }.get(data.get("sort") or "", ("-received_at", "-pk"))
    return queryset.order_by(*order)


class Page:
    """A page of rows without counting them all: one row more than shown tells whether a next page exists (a
    COUNT(*) over 200,000 rows on every page view is the slow part of a list)."""

    def __init__(self, queryset, number: int, per_page: int = PER_PAGE):
        self.number = max(1, number)
        start = (self.number - 1) * per_page
        rows = list(queryset[start : start + per_page + 1])
        self.has_next = len(rows) > per_page
        self.rows = rows[:per_page]
        self.has_previous = self.number > 1
        self.previous_page_number = self.number - 1
        self.next_page_number = self.number + 1
        self.start_index = start + 1 if self.rows else 0
        self.end_index = start + len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)


def _page_number(request) -> int:
    try:
        return min(int(request.GET.get("page", "1")), 10_000)
    except ValueError:
        return 1


@login_required
def feedback_list(request):
    if not grant_paths(request.user):
        raise Forbidden()
    now = timezone.now()
    form = FeedbackFilterForm(request.GET or None, user=request.user)
    data = form.cleaned_data if form.is_valid() else {}  # invalid filters are ignored; the form says why
    queryset = filter_feedback(feedback_for_user(request.user), data, request.user, now)
    page = Page(queryset, _page_number(request))
    for row in page:
        row.overdue = row.is_overdue(now)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "form": form,
        "query": query.urlencode(),
        "now": now,
        "can_enter": bool(grant_paths(request.user, Capability.HANDLE_FEEDBACK)),
        "can_manage_keys": is_root_admin(request.user),
    }
    template = "feedback/staff/_rows.html" if request.htmx else "feedback/staff/list.html"
    return render(request, template, context)


# --- One item -----------------------------------------------------------------------------------------------------


# History steps (Event.action) named by the label of the audit action each one writes.
EVENT_AUDIT_ACTIONS = {
    "submit": "feedback.submitted",
    "accept": "feedback.accepted",
    "refuse": "feedback.refused",
    "assign": "feedback.assigned",
    "start": "feedback.started",
    "draft": "feedback.answer_drafted",
    "approve": "feedback.answer_approved",
    "return": "feedback.answer_returned",
    "answer": "feedback.answered",
    "close": "feedback.closed",
    "reopen": "feedback.reopened",
    "rate": "feedback.rated",
    "transfer": "feedback.transferred",
    "note": "feedback.noted",
    "publish": "feedback.published",
    "unpublish": "feedback.unpublished",
    "bulletin": "feedback.bulletin_made",
}


def _event_rows(feedback):
    rows = []
    for event in feedback.events.select_related("actor"):
        label, _known = action_label(EVENT_AUDIT_ACTIONS.get(event.action, event.action))
        actor = (event.actor.full_name or event.actor.username) if event.actor else actor_label(event.actor_label)
        rows.append({"event": event, "label": label, "actor": actor})
    return rows


def detail_context(request, feedback, **extra) -> dict:
    user = request.user
    handle = can_handle(user, feedback)
    approve = can_approve(user, feedback)
    status = feedback.status
    steps = {
        "accept": handle and status == Status.RECEIVED,
        "refuse": handle and status in (Status.RECEIVED, Status.ACCEPTED, Status.ASSIGNED),
        "assign": handle and status in (Status.ACCEPTED, Status.ASSIGNED, Status.IN_PROGRESS),
        "start": handle and status in (Status.ACCEPTED, Status.ASSIGNED),
        "draft": handle and status in (Status.ACCEPTED, Status.ASSIGNED, Status.IN_PROGRESS, Status.DRAFTED),
        "approve": approve and status == Status.DRAFTED,
        "return": approve and status in (Status.DRAFTED, Status.APPROVED),
        "send": handle and status == Status.APPROVED,
        "close": handle and status == Status.ANSWERED,
        "transfer": handle and status in set(OPEN_STATUSES) - {Status.APPROVED},
        "note": handle,
    }
    forms = {
        "refuse": RefuseForm(prefix="refuse") if steps["refuse"] else None,
        "assign": AssignForm(prefix="assign", feedback=feedback) if steps["assign"] else None,
        "draft": AnswerForm(prefix="draft", initial={"answer": feedback.answer}) if steps["draft"] else None,
        "return": ReturnForm(prefix="return") if steps["return"] else None,
        "transfer": TransferForm(prefix="transfer", feedback=feedback) if steps["transfer"] else None,
        "note": NoteForm(prefix="note") if steps["note"] else None,
    }
    forms.update(extra.pop("forms", {}))
    events = _event_rows(feedback)
    return {
        "feedback": feedback,
        "steps": steps,
        "forms": forms,
        "events": events,
        "attachments": list(feedback.attachments.all()),
        "overdue": feedback.is_overdue(),
        "may_see_contact": may_see_contact(user, feedback),
        "contact": None,
        "can_handle": handle,
        # Set by the public form when recent feedback has nearly the same text (staff decide; see limits.py).
        "similar_to": next(
            (r["event"].data.get("similar_to", "") for r in events if r["event"].action == "submit"), ""
        ),
        **extra,
    }


@login_required
def feedback_detail(request, pk: int):
    feedback = get_feedback_for_user(request.user, pk)
    return render(request, "feedback/staff/detail.html", detail_context(request, feedback))


def _refuse(request, feedback, form):
    duplicate = None
    number = form.cleaned_data["duplicate_of"].strip()
    if number:
        duplicate = feedback_for_user(request.user).filter(number__iexact=number).first()
        if duplicate is None:
            raise Invalid(
                _("The feedback was not refused."),
                fields={"duplicate_of": [_("No feedback with this number within your units.")]},
            )
    actions.do_refuse_feedback(
        feedback,
        acting_user=request.user,
        reason=form.cleaned_data["reason"],
        note=form.cleaned_data["note"],
        duplicate_of=duplicate,
    )
    return _("Feedback refused; the citizen is told the reason.")


def _accept(request, feedback, form):
    feedback = actions.do_accept_feedback(feedback, acting_user=request.user)
    return _("Accepted. Answer by %(due)s.") % {"due": timezone.localtime(feedback.due_at).strftime("%d/%m/%Y")}


def _assign(request, feedback, form):
    assignee = form.cleaned_data["assignee"]
    actions.do_assign_feedback(feedback, acting_user=request.user, assignee=assignee)
    return _("Assigned to %(name)s.") % {"name": assignee.full_name or assignee.username}


def _start(request, feedback, form):
    actions.do_start_feedback(feedback, acting_user=request.user)
    return _("Handling started.")


def _draft(request, feedback, form):
    actions.do_draft_answer(feedback, acting_user=request.user, answer=form.cleaned_data["answer"])
    return _("Answer saved; it awaits approval.")


def _approve(request, feedback, form):
    actions.do_approve_answer(feedback, acting_user=request.user, send=True)
    return _("Answer approved and sent to the citizen.")


def _return(request, feedback, form):
    actions.do_return_answer(feedback, acting_user=request.user, comment=form.cleaned_data["comment"])
    return _("Answer returned with your comment.")


def _send(request, feedback, form):
    actions.do_send_answer(feedback, acting_user=request.user)
    return _("Answer sent to the citizen.")


def _close(request, feedback, form):
    actions.do_close_feedback(feedback, acting_user=request.user)
    return _("Feedback closed.")


def _transfer(request, feedback, form):
    organisation = form.cleaned_data["organisation"]
    actions.do_transfer_feedback(
        feedback, acting_user=request.user, organisation=organisation, reason=form.cleaned_data["reason"]
    )
    return _("Transferred to %(name)s.") % {"name": organisation.name}


def _note(request, feedback, form):
    actions.do_add_note(feedback, acting_user=request.user, text=form.cleaned_data["text"])
    return _("Note added.")


# step: (form class or None, what it does)
STEPS = {
    "accept": (None, _accept),
    "refuse": (RefuseForm, _refuse),
    "assign": (AssignForm, _assign),
    "start": (None, _start),
    "draft": (AnswerForm, _draft),
    "approve": (None, _approve),
    "return": (ReturnForm, _return),
    "send": (None, _send),
    "close": (None, _close),
    "transfer": (TransferForm, _transfer),
    "note": (NoteForm, _note),
}
STEP_NAMES = tuple(STEPS)


@login_required
@require_POST
def feedback_step(request, pk: int, step: str):
    """One workflow step from the item's page. Bad input comes back on its form; nothing is half-saved (each
    action is one transaction)."""
    if step not in STEPS:
        raise NotFound()
    feedback = get_feedback_for_user(request.user, pk)
    form_class, run = STEPS[step]
    form = None
    if form_class is not None:
        kwargs = {"feedback": feedback} if form_class in (AssignForm, TransferForm) else {}
        form = form_class(request.POST, prefix=step, **kwargs)
    try:
        if form is not None and not form.is_valid():
            raise Invalid(_("Nothing was saved. Please correct the form."))
        message = run(request, feedback, form)
    except Invalid as exc:
        if form is None:
            messages.error(request, exc.message)
            return redirect("feedback:detail", pk=feedback.pk)
        if exc.fields or form.is_valid():
            add_domain_error(form, exc)
        feedback.refresh_from_db()
        context = detail_context(request, feedback, forms={step: form}, failed=step)
        return render(request, "feedback/staff/detail.html", context, status=400)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, message)
    return redirect("feedback:detail", pk=feedback.pk)


@login_required
@require_POST
def feedback_contact(request, pk: int):
    """Show the citizen's contact details to the person handling the item; every showing is audited."""
    feedback = get_feedback_for_user(request.user, pk)
    contact = do_view_contact(feedback, acting_user=request.user)
    if request.htmx:
        response = render(request, "feedback/staff/_contact.html", {"feedback": feedback, "contact": contact})
    else:
        response = render(request, "feedback/staff/detail.html", detail_context(request, feedback, contact=contact))
    response["Cache-Control"] = "no-store"
    return response


@login_required
def attachment_file(request, pk: int, attachment_id: int):
    """Stream a file of the feedback to staff who can see the feedback."""
    feedback = get_feedback_for_user(request.user, pk)
    attachment = feedback.attachments.filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound()
    inline = attachment.mime_type in ("image/jpeg", "image/png", "image/webp")
    name = attachment.original_name or attachment.file.name.rsplit("/", 1)[-1]
    response = FileResponse(
        attachment.file.open("rb"), content_type=attachment.mime_type, as_attachment=not inline, filename=name
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- Staff entry --------------------------------------------------------------------------------------------------


@login_required
def feedback_create(request):
    """Feedback received by phone, letter, meeting, at the office or by e-mail; the tracking code is shown once."""
    if not grant_paths(request.user, Capability.HANDLE_FEEDBACK):
        raise Forbidden()
    form = StaffFeedbackForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            feedback, code = actions.do_submit_feedback(
                form.to_data(), channel=form.cleaned_data["channel"], acting_user=request.user
            )
        except DomainError as exc:
            if exc.status == 404:
                raise
            add_domain_error(form, exc)
        else:
            # Rendered, not redirected: the code is kept only as a hash and must not travel in a URL or a message.
            response = render(request, "feedback/staff/created.html", {"feedback": feedback, "code": code})
            response["Cache-Control"] = "no-store"
            return response
    status = 400 if request.method == "POST" else 200
    return render(request, "feedback/staff/form.html", {"form": form}, status=status)
