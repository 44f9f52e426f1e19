"""Citizens' personal data in feedback (NĐ 13/2023): audited reading, erasure after retention, export on request.

Only the contact fields (name, phone, e-mail) and the source address are personal data here; the text of the
feedback is the citizen's message to the authorities and stays with the record.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nguon.audit.actions import record_event
from nguon.core.errors import Forbidden, Invalid
from nguon.feedback.access import may_see_contact
from nguon.feedback.models import Feedback, Status

ERASED_STATUSES = (Status.CLOSED, Status.REFUSED)


class ErasureTrigger(models.TextChoices):
    RETENTION = "retention", _("Retention period over")
    REQUEST = "request", _("At the person's request")


def do_view_contact(feedback: Feedback, *, acting_user) -> dict:
    """Return the citizen's contact details to someone allowed to see them; every reading is audited."""
    if not may_see_contact(acting_user, feedback):
        raise Forbidden(_("Only the person handling this feedback may see the citizen's contact details."))
    record_event(
        "feedback.contact_viewed",
        actor=acting_user,
        obj=feedback,
        unit=feedback.handler_unit,
        changes={"number": feedback.number},
    )
    return {"name": feedback.name, "phone": feedback.phone, "email": feedback.email}


def _erase(feedback: Feedback, *, trigger: str, acting_user=None, now: datetime) -> bool:
    with transaction.atomic():
        locked = Feedback.objects.select_for_update(of=("self",)).select_related("handler_unit").get(pk=feedback.pk)
        if locked.personal_data_erased_at is not None:
            return False
        Feedback.objects.filter(pk=locked.pk).update(
            name="", phone="", email="", source_ip=None, personal_data_erased_at=now
        )
        record_event(
            "feedback.personal_data_erased",
            actor=acting_user,
            obj=locked,
            unit=locked.handler_unit,
            changes={"number": locked.number, "trigger": trigger},
            actor_label=None if acting_user is not None else "system",
        )
    return True


def erase_expired(now: datetime | None = None) -> int:
    """Erase the contact details of items closed or refused longer than FEEDBACK_RETENTION_DAYS ago."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.FEEDBACK_RETENTION_DAYS)
    expired = Feedback.objects.filter(
        status__in=ERASED_STATUSES, closed_at__lt=cutoff, personal_data_erased_at__isnull=True
    ).only("pk")
    return sum(_erase(f, trigger=ErasureTrigger.RETENTION, now=now) for f in expired.iterator())


def normalise_phone(phone: str) -> str:
    """Digits only, the country code +84 written as the leading 0 ("+84 912…" and "0912…" are one number)."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if digits.startswith("84") and len(digits) >= 11:
        digits = "0" + digits[2:]
    return digits


def feedback_of_person(*, email: str = "", phone: str = ""):
    """Every feedback given with this e-mail address or phone number."""
    email = email.strip()
    wanted = normalise_phone(phone)
    if not email and len(wanted) < 8:
        raise Invalid(_("Give an e-mail address or a phone number."))
    ids: set[int] = set()
    if email:
        ids.update(Feedback.objects.filter(email__iexact=email).values_list("pk", flat=True))
    if wanted:
        # Phones are stored as typed ("0912 345 678"): compare their digits.
        rows = Feedback.objects.exclude(phone="").values_list("pk", "phone")
        ids.update(pk for pk, stored in rows.iterator() if normalise_phone(stored) == wanted)
    return Feedback.objects.filter(pk__in=ids).select_related("topic", "unit").order_by("received_at")


def _iso(value):
    return value.isoformat() if value else None


def export_record(feedback: Feedback) -> dict:
    return {
        "number": feedback.number,
        "received_at": _iso(feedback.received_at),
        "channel": feedback.channel,
        "topic": feedback.topic.name,
        "commune": feedback.unit.name,
        "address": feedback.address,
        "title": feedback.title,
        "text": feedback.text,
        "name": feedback.name,
        "phone": feedback.phone,
        "email": feedback.email,
        "status": feedback.status,
        "status_label": str(Status(feedback.status).label),
        "answer": feedback.answer if feedback.status in (Status.ANSWERED, Status.CLOSED) else "",
        "answered_at": _iso(feedback.answered_at),
        "closed_at": _iso(feedback.closed_at),
        "rating": feedback.rating,
        "history": [
            {"at": _iso(e.at), "step": e.action, "status": e.to_status, "note": e.note}
            for e in feedback.events.filter(public=True)
        ],
    }


def do_export_personal_data(*, email: str = "", phone: str = "", acting_user=None, erase: bool = False) -> list:
    """Everything held about a person's feedback, as JSON-ready data; with `erase`, their contact details are
    then erased. Both are audited."""
    found = list(feedback_of_person(email=email, phone=phone))
    records = [export_record(f) for f in found]
    record_event(
        "feedback.personal_data_exported",
        actor=acting_user,
        changes={"count": len(records), "numbers": [r["number"] for r in records]},
        object_repr=email or normalise_phone(phone),
        actor_label=None if acting_user is not None else "system",
    )
    if erase:
        now = timezone.now()
        for feedback in found:
            _erase(feedback, trigger=ErasureTrigger.REQUEST, acting_user=acting_user, now=now)
    return records
