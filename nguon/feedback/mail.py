"""The e-mails a citizen receives about their feedback, in the language they wrote in."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from nguon.feedback.models import Event, Status

SUBJECTS = {
    "submit": gettext_noop("Feedback %(number)s received"),
    "accept": gettext_noop("Feedback %(number)s accepted"),
    "refuse": gettext_noop("Feedback %(number)s not accepted"),
    "start": gettext_noop("Feedback %(number)s is being handled"),
    "answer": gettext_noop("Answer to your feedback %(number)s"),
    "close": gettext_noop("Feedback %(number)s closed"),
    "reopen": gettext_noop("Feedback %(number)s reopened"),
}


def status_url(feedback, code: str = "") -> str:
    from urllib.parse import urlencode

    from nguon.feedback.actions import tracking_token

    base = settings.PUBLIC_URL.rstrip("/")
    if code:
        return f"{base}{reverse('feedback_public:track')}?{urlencode({'ma': code})}"
    return f"{base}{reverse('feedback_public:status', args=[tracking_token(feedback)])}"


def event_message(event: Event, code: str = "") -> EmailMessage | None:
    feedback = event.feedback
    if not feedback.email or event.action not in SUBJECTS:
        return None
    with translation.override(feedback.language or settings.LANGUAGE_CODE):
        lines = [_("Hello %(name)s,") % {"name": feedback.name or _("citizen")}, ""]
        status = Status(feedback.status).label if event.to_status else ""
        if event.action == "submit":
            lines += [
                _("We received your feedback about “%(topic)s” in %(unit)s.")
                % {"topic": feedback.topic.name, "unit": feedback.unit.name},
                _("Reference number: %(number)s") % {"number": feedback.number},
                _("Tracking code: %(code)s (keep it: only you can use it to follow your feedback).") % {"code": code},
            ]
        elif event.action == "refuse":
            lines += [
                _("Your feedback %(number)s was not accepted: %(reason)s.")
                % {"number": feedback.number, "reason": feedback.get_refusal_reason_display()},
            ]
            if event.note:
                lines.append(event.note)
        elif event.action == "answer":
            lines += [
                _("The answer to your feedback %(number)s:") % {"number": feedback.number},
                "",
                feedback.answer,
                "",
            ]
            lines.append(_("If the problem is not solved, you can reopen it from the status page."))
        else:
            lines.append(
                _("Your feedback %(number)s is now: %(status)s.") % {"number": feedback.number, "status": status}
            )
            if event.note and event.action == "reopen":
                lines.append(event.note)
        lines += ["", _("Status page: %(url)s") % {"url": status_url(feedback, code)}, "", "Nguồn"]
        subject = _(SUBJECTS[event.action]) % {"number": feedback.number}
    return EmailMessage(subject=subject, body="\n".join(lines), to=[feedback.email])


def send_event_email(event_id: int, code: str = "") -> bool:
    event = Event.objects.select_related("feedback__topic", "feedback__unit").filter(pk=event_id).first()
    if event is None:
        return False
    message = event_message(event, code)
    if message is None:
        return False
    message.send()
    return True
