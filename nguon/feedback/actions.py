"""Feedback workflow: every step is an action that owns its transaction, its history row and its audit row.

received → accepted (or refused) → assigned → in progress → answer drafted → answer approved → answered → closed;
a citizen may reopen an answered item within REOPEN_DAYS and rate the answer. Signals are sent after commit;
receivers.py turns them into notifications for staff and e-mails for the citizen.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nguon.accounts.access import can, require
from nguon.accounts.roles import Capability
from nguon.audit.actions import record_event
from nguon.content.text import plain, plain_title
from nguon.core.errors import Conflict, Forbidden, Invalid
from nguon.core.validators import xml_text_problem
from nguon.feedback.models import (
    OPEN_STATUSES,
    Attachment,
    Channel,
    Event,
    Feedback,
    PartnerKey,
    RefusalReason,
    RoutingRule,
    Status,
    Topic,
    hash_code,
)
from nguon.lib.folding import fold
from nguon.lib.shingles import fingerprint
from nguon.lib.workdays import add_working_days
from nguon.units.models import Organisation, Unit

MAX_TITLE = 200
MAX_TEXT = 5_000
MAX_ANSWER = 10_000
MAX_NOTE = 2_000
MAX_NAME = 100
MAX_ADDRESS = 300
# How long after the answer a citizen may reopen the item (then it closes by itself).
REOPEN_DAYS = timedelta(days=settings.FEEDBACK_REOPEN_DAYS)
# The working day ends at this local time: an item due on a day may be answered until then.
END_OF_DAY = time(17, 0)
# Crockford's base 32 without I, L, O, U: a code read over the phone is not misheard.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12  # 60 bits

# Sent after commit with `feedback`, `event` (the history row) and `actor`.
feedback_changed = Signal()


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


@dataclass
class FeedbackData:
    """What a citizen (or staff member, or partner app) submits; checked by `clean_feedback_data`."""

    topic: Topic | None
    unit: Unit | None
    text: str
    title: str = ""
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None
    name: str = ""
    phone: str = ""
    email: str = ""
    consent_publish: bool = False
    language: str = "vi"
    attachments: list = field(default_factory=list)  # PreparedFile items (nguon/feedback/attachments.py)


def _phone_problem(phone: str):
    digits = "".join(ch for ch in phone if ch.isdigit())
    if phone and (len(digits) < 8 or len(digits) > 15 or any(ch not in "0123456789 +.-()" for ch in phone)):
        return _("Enter a phone number of 8 to 15 digits.")
    return None


def clean_feedback_data(data: FeedbackData) -> FeedbackData:
    """Strip markup, check every field and its size; raise Invalid with every problem at once."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    errors: dict[str, list] = {}
    for name in ("title", "text", "address", "name", "phone", "email"):
        problem = xml_text_problem(getattr(data, name) or "")
        if problem:
            errors[name] = [problem]
    if errors:
        raise Invalid(_("The feedback has errors; nothing was saved."), fields=errors)
    data.title = plain_title(data.title)
    data.text = plain(data.text)
    data.address = plain_title(data.address)
    data.name = plain_title(data.name)
    data.phone = data.phone.strip()
    data.email = data.email.strip()
    if data.topic is None or not data.topic.is_active:
        errors["topic"] = [_("Choose a topic from the list.")]
    if data.unit is None:
        errors["unit"] = [_("Choose the commune or ward where it happens.")]
    if not data.text:
        errors["text"] = [_("Describe what you want to report.")]
    elif len(data.text) > MAX_TEXT:
        errors["text"] = [
            _("The text is too long: at most %(n)s characters.") % {"n": f"{MAX_TEXT:,}".replace(",", ".")}
        ]
    elif not fingerprint(data.text):
        errors["text"] = [_("The text has no words.")]
    if len(data.title) > MAX_TITLE:
        errors["title"] = [_("The title is too long (at most %(n)s characters).") % {"n": MAX_TITLE}]
    if len(data.address) > MAX_ADDRESS:
        errors["address"] = [_("The address is too long (at most %(n)s characters).") % {"n": MAX_ADDRESS}]
    if len(data.name) > MAX_NAME:
        errors["name"] = [_("The name is too long (at most %(n)s characters).") % {"n": MAX_NAME}]
    problem = _phone_problem(data.phone)
    if problem:
        errors["phone"] = [problem]
    if data.email:
        try:
            validate_email(data.email)
        except ValidationError:
            errors["email"] = [_("Enter a valid e-mail address.")]
    if (data.latitude is None) != (data.longitude is None):
        errors["latitude"] = [_("Give both latitude and longitude, or neither.")]
    elif data.latitude is not None and not (-90 <= data.latitude <= 90 and -180 <= data.longitude <= 180):
        errors["latitude"] = [_("The map point is not a valid position.")]
    if len(data.attachments) > settings.FEEDBACK_MAX_FILES:
        errors["attachments"] = [_("Send at most %(n)s files.") % {"n": settings.FEEDBACK_MAX_FILES}]
    if errors:
        raise Invalid(_("The feedback has errors; nothing was saved."), fields=errors)
    return data


def route(topic: Topic, unit: Unit) -> tuple[Unit, Organisation | None]:
    """Who handles feedback on `topic` about `unit`: the deepest routing rule above the unit, else the topic's
    organisation, else the commune itself."""
    codes = unit.path.strip("/").split("/")
    rules = list(
        RoutingRule.objects.filter(topic=topic, unit__code__in=codes).select_related("organisation__unit", "unit")
    )
    if rules:
        rule = max(rules, key=lambda r: r.unit.path.count("/"))
        return rule.organisation.unit, rule.organisation
    if topic.organisation_id:
        return topic.organisation.unit, topic.organisation
    return unit, None


def due_for(topic: Topic, accepted_at: datetime) -> datetime:
    """The deadline: the end of the working day `deadline_days` working days after acceptance."""
    local = timezone.localtime(accepted_at)
    day = add_working_days(local.date(), topic.deadline_days)
    return timezone.make_aware(datetime.combine(day, END_OF_DAY), timezone.get_current_timezone())


def _actor_label(acting_user, api_key: PartnerKey | None = None) -> str:
    if acting_user is not None and getattr(acting_user, "pk", None):
        return acting_user.get_username()
    if api_key is not None:
        return f"open311:{api_key.name}"
    return "citizen"


def _history(
    feedback, action, from_status, *, actor=None, actor_label="", note="", public=False, data=None, at=None
) -> Event:
    return Event.objects.create(
        feedback=feedback,
        at=at or timezone.now(),
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        actor_label=actor_label or _actor_label(actor),
        action=action,
        from_status=from_status,
        to_status=feedback.status,
        note=note,
        public=public,
        data=data or {},
    )


def _audit(feedback: Feedback, *, audit_action: str, actor=None, actor_label=None, changes=None) -> None:
    record_event(
        audit_action,
        actor=actor,
        obj=feedback,
        unit=feedback.handler_unit,
        changes=changes or {},
        actor_label=actor_label,
    )


def _after_commit(feedback: Feedback, event: Event, actor, **extra) -> None:
    transaction.on_commit(
        lambda: feedback_changed.send(sender=Feedback, feedback=feedback, event=event, actor=actor, **extra)
    )


def _lock(feedback: Feedback) -> Feedback:
    return (
        Feedback.objects.select_for_update(of=("self",))
        .select_related("topic", "unit", "handler_unit", "handler_organisation", "assignee")
        .get(pk=feedback.pk)
    )


def do_submit_feedback(
    data: FeedbackData,
    *,
    channel: str = Channel.WEB,
    acting_user=None,
    api_key: PartnerKey | None = None,
    source_ip: str | None = None,
    similar_to: str = "",
    now: datetime | None = None,
) -> tuple[Feedback, str]:
    """Record new feedback, route it and return it with its tracking code (shown once: only a hash is kept).

    `similar_to`: the number of recent feedback with nearly the same text (the public form finds it), noted in the
    history so that staff see the likely duplicate.
    """
    if channel not in Channel.values:
        raise Invalid(
            _("Choose one of the listed channels."), fields={"channel": [_("Choose one of the listed channels.")]}
        )
    if acting_user is not None and getattr(acting_user, "pk", None) and data.unit is not None:
        require(acting_user, Capability.HANDLE_FEEDBACK, data.unit)
    data = clean_feedback_data(data)
    if api_key is not None and api_key.unit_id and not api_key.unit.contains(data.unit):
        raise Forbidden(_("This API key may only submit feedback about %(unit)s.") % {"unit": api_key.unit.name})
    now = now or timezone.now()
    handler_unit, organisation = route(data.topic, data.unit)
    code = new_code()
    label = _actor_label(acting_user, api_key)
    with transaction.atomic():
        feedback = Feedback.objects.create(
            number=f"tmp-{secrets.token_hex(6)}",
            code_hash=hash_code(code),
            channel=channel,
            topic=data.topic,
            unit=data.unit,
            address=data.address,
            latitude=data.latitude,
            longitude=data.longitude,
            title=data.title,
            text=data.text,
            text_folded=fold(f"{data.title} {data.text}"),
            name=data.name,
            phone=data.phone,
            email=data.email,
            consent_publish=data.consent_publish,
            language=data.language,
            handler_unit=handler_unit,
            handler_organisation=organisation,
            status=Status.RECEIVED,
            received_at=now,
            status_changed_at=now,
            created_by=acting_user if acting_user is not None and getattr(acting_user, "pk", None) else None,
            api_key=api_key,
            fingerprint=fingerprint(data.text),
            source_ip=source_ip or None,
        )
        # A readable, sequential reference for staff and the citizen ("PA-2026-000042"); the code unlocks the page.
        feedback.number = f"PA-{timezone.localtime(now).year}-{feedback.pk:06d}"
        Feedback.objects.filter(pk=feedback.pk).update(number=feedback.number)
        for prepared in data.attachments:
            store_attachment(feedback, prepared)
        event_data = {"channel": channel, **({"similar_to": similar_to} if similar_to else {})}
        event = _history(
            feedback, "submit", "", actor=acting_user, actor_label=label, public=True, data=event_data, at=now
        )
        _audit(
            feedback,
            audit_action="feedback.submitted",
            actor=acting_user,
            actor_label=label,
            changes={
                "channel": channel,
                "topic": feedback.topic.code,
                "unit": feedback.unit.code,
                "handler": organisation.name if organisation else handler_unit.name,
                "attachments": len(data.attachments),
            },
        )
        # The code goes with the signal once, for the citizen's confirmation e-mail; it is never stored.
        _after_commit(feedback, event, acting_user, code=code)
    return feedback, code


def store_attachment(feedback: Feedback, prepared) -> Attachment:
    """Keep a checked file (see attachments.py) with the feedback, named by its hash."""
    from django.core.files import File

    with open(prepared.path, "rb") as handle:
        attachment = Attachment(
            feedback=feedback,
            kind=prepared.kind,
            mime_type=prepared.mime_type,
            size=prepared.size,
            sha256=prepared.sha256,
            width=prepared.width,
            height=prepared.height,
            duration=prepared.duration,
            original_name=(prepared.original_name or "")[:200],
        )
        # Named by content: the same bytes sent again reuse the stored file instead of a renamed copy.
        name = attachment.file.field.generate_filename(attachment, f"{prepared.sha256}.{prepared.extension}")
        if attachment.file.storage.exists(name):
            attachment.file.name = name
        else:
            attachment.file.save(f"{prepared.sha256}.{prepared.extension}", File(handle), save=False)
        attachment.save()
    return attachment


def _step(
    feedback: Feedback,
    *,
    acting_user,
    capability: Capability,
    allowed_from,
    to: str | None,
    action: str,
    audit_action: str,
    note: str = "",
    public: bool = True,
    extra: dict | None = None,
    audit_changes: dict | None = None,
    now: datetime | None = None,
) -> Feedback:
    """Move one feedback from one of `allowed_from` to `to` (None: status unchanged), with history and audit."""
    require(acting_user, capability, feedback.handler_unit)
    now = now or timezone.now()
    with transaction.atomic():
        feedback = _lock(feedback)
        if allowed_from is not None and feedback.status not in allowed_from:
            raise Conflict(
                _("This step is not possible while the feedback is “%(status)s”.")
                % {"status": Status(feedback.status).label},
                code="wrong_status",
            )
        from_status = feedback.status
        if to is not None and to != from_status:
            feedback.status = to
            feedback.status_changed_at = now
        for name, value in (extra or {}).items():
            setattr(feedback, name, value)
        feedback.save()
        event = _history(feedback, action, from_status, actor=acting_user, note=note, public=public, at=now)
        changes = {"status": [from_status, feedback.status]} if from_status != feedback.status else {}
        if note:
            changes["note"] = note
        changes.update(audit_changes or {})
        _audit(feedback, audit_action=audit_action, actor=acting_user, changes=changes)
        _after_commit(feedback, event, acting_user)
    return feedback


def do_accept_feedback(feedback: Feedback, *, acting_user, now: datetime | None = None) -> Feedback:
    """Accept for handling: the deadline starts now, counted in working days."""
    now = now or timezone.now()
    due = due_for(feedback.topic, now)
    return _step(
        feedback,
        acting_user=acting_user,
        capability=Capability.HANDLE_FEEDBACK,
        allowed_from={Status.RECEIVED},
        to=Status.ACCEPTED,
        action="accept",
        audit_action="feedback.accepted",
        extra={"accepted_at": now, "due_at": due},
        audit_changes={"due_at": due.isoformat()},
        now=now,
    )


def do_refuse_feedback(
    feedback: Feedback, *, acting_user, reason: str, note: str = "", duplicate_of: Feedback | None = None
) -> Feedback:
    """Refuse as spam, out of scope, duplicate or incomplete, saying why (the citizen sees the reason)."""
    errors = {}
    if reason not in RefusalReason.values:
        errors["reason"] = [_("Choose one of the listed reasons.")]
    if reason == RefusalReason.DUPLICATE and duplicate_of is None:
        errors["duplicate_of"] = [_("Give the number of the feedback this one repeats.")]
    if duplicate_of is not None and duplicate_of.pk == feedback.pk:
        errors["duplicate_of"] = [_("A feedback cannot duplicate itself.")]
    note = plain(note)
    if len(note) > MAX_NOTE:
        errors["note"] = [_("The note is too long (at most %(n)s characters).") % {"n": MAX_NOTE}]
    if errors:
        raise Invalid(_("The feedback was not refused."), fields=errors)
    return _step(
        feedback,
        acting_user=acting_user,
        capability=Capability.HANDLE_FEEDBACK,
        allowed_from={Status.RECEIVED, Status.ACCEPTED, Status.ASSIGNED},
        to=Status.REFUSED,
        action="refuse",
        audit_action="feedback.refused",
        note=note,
        extra={"refusal_reason": reason, "duplicate_of": duplicate_of, "closed_at": timezone.now(), "due_at": None},
        audit_changes={"reason": reason, **({"duplicate_of": duplicate_of.number} if duplicate_of else {})},
    )


def do_assign_feedback(feedback: Feedback, *, acting_user, assignee) -> Feedback:
    """Give the item to a person of the handling unit (who then sees the citizen's contact details)."""
    if (
        assignee is None
        or not assignee.is_active
        or not can(assignee, Capability.HANDLE_FEEDBACK, feedback.handler_unit)
    ):
        raise Invalid(
            _("The person cannot handle feedback of %(unit)s.") % {"unit": feedback.handler_unit.name},
            fields={"assignee": [_("Choose a person who handles feedback in this unit.")]},
        )
    return _step(
        feedback,
        acting_user=acting_user,
        capability=Capability.HANDLE_FEEDBACK,
        allowed_from={Status.ACCEPTED, Status.ASSIGNED, Status.IN_PROGRESS},
        to=Status.ASSIGNED,
        action="assign",
        audit_action="feedback.assigned",
        public=False,
        extra={"assignee": assignee},
        audit_changes={"assignee": assignee.get_username()},
    )


def do_start_feedback(feedback: Feedback, *, acting_user, now: datetime | None = None) -> Feedback:
    return _step(
        feedback,
        acting_user=acting_user,
        capability=Capability.HANDLE_FEEDBACK,
        allowed_from={Status.ACCEPTED, Status.ASSIGNED},
        to=Status.IN_PROGRESS,
        action="start",
        audit_action="feedback.started",
        extra={} if feedback.assignee_id else {"assignee": acting_user},
        now=now,
    )


def _clean_answer(answer: str) -> str:
    problem = xml_text_problem(answer or "")
    if problem:
        raise Invalid(problem, fields={"answer": [problem]})
    answer = plain(answer)
    if not answer:
        raise Invalid(_("Write the answer."), fields={"answer": [_("Write the answer.")]})
    if len(answer) > MAX_ANSWER:
        message = _("The answer is too long (at most %(n)s characters).") % {"n": f"{MAX_ANSWER:,}".replace(",", ".")}
        raise Invalid(message, fields={"answer": [message]})
    return answer


def do_draft_answer(feedback: Feedback, *, acting_user, answer: str, now: datetime | None = None) -> Feedback:
    """Write (or rewrite) the answer; it waits for approval before the citizen sees it."""
    answer = _clean_answer(answer)
    return _step(
        feedback,
        acting_user=acting_user,
        capability=Capability.HANDLE_FEEDBACK,
        allowed_from={Status.ACCEPTED, Status.ASSIGNED, Status.IN_PROGRESS, Status.DRAFTED},
        to=Status.DRAFTED,
        action="draft",
        audit_action="feedback.answer_drafted",
        public=False,
        extra={"answer": answer, **({} if feedback.assignee_id else {"assignee": acting_user})},
        now=now,
    )


def do_approve_answer(feedback: Feedback, *, acting_user, send: bool = True, now: datetime | None = None) -> Feedback:
    """Approve the drafted answer; with `send` it goes to the citizen at once (approved, then answered)."""
    now = now or timezone.now()
    feedback = _step(
        feedback,
        acting_user=acting_user,
        capability=Capability.APPROVE_FEEDBACK,
        allowed_from={Status.DRAFTED},
        to=Status.APPROVED,
        action="approve",
        audit_action="feedback.answer_approved",
        public=False,
        extra={"answer_approved_by": acting_user},
        now=now,
    )
    if send:
        feedback = do_send_answer(feedback, acting_user=acting_user, now=now)
    return feedback


def do_return_answer(feedback: Feedback, *, acting_user, comment: str) -> Feedback:
    """Send a drafted answer back to its writer with a comment."""
    comment = plain(comment)
    if not comment:
        raise Invalid(_("Say what should change."), fields={"comment": [_("Say what should change.")]})
    return _step(
        feedback,
        acting_user=acting_user,
        capability=Capability.APPROVE_FEEDBACK,
        allowed_from={Status.DRAFTED, Status.APPROVED},
        to=Status.IN_PROGRESS,
        action="return",
        audit_action="feedback.answer_returned",
        note=comment[:MAX_NOTE],
        public=False,
    )


def do_send_answer(feedback: Feedback, *, acting_user, now: datetime | None = None) -> Feedback:
    """Give the approved answer to the citizen; whether it came on time is fixed now."""
    now = now or timezone.now()
    on_time = feedback.due_at is None or now <= feedback.due_at
    return _step(
        feedback,
        acting_user=acting_user,
        capability=Capability.HANDLE_FEEDBACK,
        allowed_from={Status.APPROVED},
        to=Status.ANSWERED,
        action="answer",
        audit_action="feedback.answered",
        note=feedback.answer,
        extra={"answered_at": now, "on_time": on_time},
        audit_changes={"on_time": on_time},
        now=now,
    )


def do_close_feedback(feedback: Feedback, *, acting_user, now: datetime | None = None) -> Feedback:
    now = now or timezone.now()
    return _step(
        feedback,
        acting_user=acting_user,
        capability=Capability.HANDLE_FEEDBACK,
        allowed_from={Status.ANSWERED},
        to=Status.CLOSED,
        action="close",
        audit_action="feedback.closed",
        extra={"closed_at": now},
        now=now,
    )


def do_transfer_feedback(feedback: Feedback, *, acting_user, organisation: Organisation, reason: str) -> Feedback:
    """Hand the item to another organisation (another unit's, perhaps); it waits there for acceptance again."""
    reason = plain(reason)
    errors = {}
    if organisation is None or not organisation.is_active:
        errors["organisation"] = [_("Choose an organisation from the list.")]
    elif organisation.pk == feedback.handler_organisation_id:
        errors["organisation"] = [_("The feedback is already with this organisation.")]
    if not reason:
        errors["reason"] = [_("Say why it is transferred.")]
    if errors:
        raise Invalid(_("The feedback was not transferred."), fields=errors)
    previous = feedback.handler_organisation.name if feedback.handler_organisation_id else feedback.handler_unit.name
    return _step(
        feedback,
        acting_user=acting_user,
        capability=Capability.HANDLE_FEEDBACK,
        allowed_from=set(OPEN_STATUSES) - {Status.APPROVED},
        to=Status.RECEIVED,
        action="transfer",
        audit_action="feedback.transferred",
        note=reason[:MAX_NOTE],
        public=False,
        extra={
            "handler_unit": organisation.unit,
            "handler_organisation": organisation,
            "assignee": None,
            "accepted_at": None,
            "due_at": None,
        },
        audit_changes={"from": previous, "to": organisation.name},
    )


def do_add_note(feedback: Feedback, *, acting_user, text: str) -> Feedback:
    """An internal note for colleagues (never shown to the citizen)."""
    text = plain(text)
    if not text:
        raise Invalid(_("Write the note."), fields={"text": [_("Write the note.")]})
    if len(text) > MAX_NOTE:
        raise Invalid(_("The note is too long."), fields={"text": [_("The note is too long.")]})
    return _step(
        feedback,
        acting_user=acting_user,
        capability=Capability.HANDLE_FEEDBACK,
        allowed_from=None,
        to=None,
        action="note",
        audit_action="feedback.noted",
        note=text,
        public=False,
    )


def _citizen_step(
    feedback: Feedback, *, action: str, audit_action: str, to: str | None, note="", extra=None, changes=None
) -> Feedback:
    with transaction.atomic():
        feedback = _lock(feedback)
        from_status = feedback.status
        if to is not None:
            feedback.status = to
            feedback.status_changed_at = timezone.now()
        for name, value in (extra or {}).items():
            setattr(feedback, name, value)
        feedback.save()
        event = _history(feedback, action, from_status, actor_label="citizen", note=note, public=True)
        audit = {"status": [from_status, feedback.status]} if to and to != from_status else {}
        _audit(feedback, audit_action=audit_action, actor_label="citizen", changes={**audit, **(changes or {})})
        _after_commit(feedback, event, None)
    return feedback


def can_reopen(feedback: Feedback, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return (
        feedback.status == Status.ANSWERED
        and feedback.answered_at is not None
        and now - feedback.answered_at <= REOPEN_DAYS
    )


def do_reopen_by_citizen(feedback: Feedback, *, reason: str, now: datetime | None = None) -> Feedback:
    """The citizen is not satisfied: back to the handler (the same deadline rules start again)."""
    reason = plain(reason)
    if not reason:
        raise Invalid(_("Say what is still wrong."), fields={"reason": [_("Say what is still wrong.")]})
    if len(reason) > MAX_NOTE:
        raise Invalid(_("The text is too long."), fields={"reason": [_("The text is too long.")]})
    if not can_reopen(feedback, now):
        raise Conflict(_("This feedback can no longer be reopened."), code="not_reopenable")
    now = now or timezone.now()
    return _citizen_step(
        feedback,
        action="reopen",
        audit_action="feedback.reopened",
        to=Status.IN_PROGRESS,
        note=reason,
        extra={
            "reopen_count": feedback.reopen_count + 1,
            "answered_at": None,
            "on_time": None,
            "accepted_at": now,
            "due_at": due_for(feedback.topic, now),
        },
    )


def do_rate_answer(feedback: Feedback, *, rating: int, comment: str = "") -> Feedback:
    """The citizen's satisfaction with the answer, 1 (not at all) to 5 (very); may be changed."""
    comment = plain(comment)
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise Invalid(_("Choose from 1 to 5 stars."), fields={"rating": [_("Choose from 1 to 5 stars.")]})
    if len(comment) > 500:
        raise Invalid(_("The comment is too long."), fields={"comment": [_("The comment is too long.")]})
    if feedback.status not in (Status.ANSWERED, Status.CLOSED):
        raise Conflict(_("The feedback has not been answered yet."), code="not_answered")
    return _citizen_step(
        feedback,
        action="rate",
        audit_action="feedback.rated",
        to=None,
        note=comment,
        extra={"rating": rating, "rating_comment": comment},
        changes={"rating": rating},
    )


def close_answered(now: datetime | None = None) -> int:
    """Close the items answered longer ago than the reopen period (the worker runs this daily)."""
    now = now or timezone.now()
    closed = 0
    for feedback in Feedback.objects.filter(status=Status.ANSWERED, answered_at__lt=now - REOPEN_DAYS):
        with transaction.atomic():
            locked = _lock(feedback)
            if locked.status != Status.ANSWERED:
                continue
            locked.status = Status.CLOSED
            locked.closed_at = now
            locked.status_changed_at = now
            locked.save()
            event = _history(locked, "close", Status.ANSWERED, actor_label="system", public=True)
            _audit(
                locked,
                audit_action="feedback.closed",
                actor_label="system",
                changes={"status": [Status.ANSWERED, Status.CLOSED]},
            )
            _after_commit(locked, event, None)
            closed += 1
    return closed


TRACKING_SALT = "nguon.feedback.tracking"


def tracking_token(feedback: Feedback) -> str:
    """An unguessable token for the status page in later e-mails (the code itself is kept only as a hash)."""
    from django.core import signing

    return signing.dumps(feedback.pk, salt=TRACKING_SALT, compress=True)


def find_by_token(token: str) -> Feedback | None:
    from django.core import signing

    try:
        pk = signing.loads(token, salt=TRACKING_SALT)
    except signing.BadSignature:
        return None
    return Feedback.objects.select_related("topic", "unit").filter(pk=pk).first()


def find_by_code(code: str) -> Feedback | None:
    """The feedback a tracking code unlocks, or None. The lookup is by a keyed hash of the code, so the time it
    takes does not depend on how much of a guessed code is right."""
    if not code or len(code) > 40:
        return None
    return Feedback.objects.select_related("topic", "unit").filter(code_hash=hash_code(code)).first()
