"""Deadline reminders: the person handling an item is told one working day before its deadline and once it has
passed. Each milestone is told once (the notification key names the item, the milestone and the deadline, so a
new deadline after a reopening gets its own reminders)."""

from __future__ import annotations

from datetime import datetime

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from nguon.accounts.roles import Capability
from nguon.feedback.actions import END_OF_DAY
from nguon.feedback.models import Feedback
from nguon.lib.workdays import add_working_days
from nguon.notifications.actions import notify
from nguon.notifications.models import Kind, Notification
from nguon.notifications.recipients import holders

SOON = "soon"
OVERDUE = "overdue"


def reminder_key(feedback: Feedback, milestone: str) -> str:
    # The prefix "feedback_due:<pk>:" lets whoever deals with the item resolve every reminder about it at once.
    return f"feedback_due:{feedback.pk}:{milestone}:{feedback.due_at.isoformat()}"


def recipients(feedback: Feedback):
    """The assignee; else the handlers of the handling unit (the organisation's own people when it has any)."""
    if feedback.assignee_id:
        return [feedback.assignee]
    handlers = holders(Capability.HANDLE_FEEDBACK, feedback.handler_unit)
    if feedback.handler_organisation_id:
        own = handlers.filter(organisation=feedback.handler_organisation)
        if own.exists():
            return list(own)
    return list(handlers)


def _horizon(now: datetime) -> datetime:
    """The end of the next working day: items due by then are due "within one working day"."""
    next_day = add_working_days(timezone.localtime(now).date(), 1)
    return timezone.make_aware(datetime.combine(next_day, END_OF_DAY), timezone.get_current_timezone())


def send_reminders(now: datetime | None = None) -> int:
    """Tell the people handling open items due within a working day, or overdue; return how many were told."""
    now = now or timezone.now()
    due = list(
        Feedback.objects.open()
        .filter(due_at__isnull=False, due_at__lte=_horizon(now))
        .select_related("topic", "unit", "handler_unit", "assignee")
    )
    if not due:
        return 0
    milestones = {f.pk: (OVERDUE if f.due_at < now else SOON) for f in due}
    keys = {f.pk: reminder_key(f, milestones[f.pk]) for f in due}
    # Items already told about at this milestone are skipped before working out their recipients.
    told = set(Notification.objects.filter(key__in=keys.values()).values_list("key", flat=True).distinct())
    sent = 0
    for feedback in due:
        key = keys[feedback.pk]
        if key in told:
            continue
        deadline = timezone.localtime(feedback.due_at).strftime("%H:%M %d/%m/%Y")
        subject = feedback.title or feedback.topic.name
        if milestones[feedback.pk] == OVERDUE:
            title = _("Feedback %(number)s is overdue") % {"number": feedback.number}
            body = _("“%(title)s” (%(unit)s) was due at %(due)s and has not been answered.") % {
                "title": subject,
                "unit": feedback.unit.name,
                "due": deadline,
            }
        else:
            title = _("Feedback %(number)s is due soon") % {"number": feedback.number}
            body = _("“%(title)s” (%(unit)s) must be answered by %(due)s.") % {
                "title": subject,
                "unit": feedback.unit.name,
                "due": deadline,
            }
        created = notify(
            recipients(feedback),
            Kind.FEEDBACK_DUE,
            title=title,
            body=body,
            link=reverse("feedback:detail", args=[feedback.pk]),
            unit=feedback.handler_unit,
            key=key,
            now=now,
        )
        sent += len(created)
    return sent
