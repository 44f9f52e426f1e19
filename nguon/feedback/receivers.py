"""After each public step, tell the citizen by e-mail (when they gave an address); the worker sends it."""

from __future__ import annotations

import logging

from django.dispatch import receiver

from nguon.feedback.actions import feedback_changed
from nguon.feedback.models import Feedback

log = logging.getLogger(__name__)


@receiver(feedback_changed, dispatch_uid="feedback_email_citizen")
def email_citizen(sender, feedback: Feedback, event, code: str = "", **kwargs):
    if not event.public or not feedback.email or event.action == "rate":
        return
    from nguon.feedback.tasks import send_citizen_email

    try:
        send_citizen_email(event.pk, code)
    except Exception:  # the queue is down: staff still see the item; the citizen can check the status page
        log.exception("could not queue the e-mail for feedback event %s", event.pk)
