"""Labels of the feedback app's audit actions (see nguon/audit/labels.py)."""

from django.utils.translation import gettext_lazy as _

from nguon.audit.labels import Field, register
from nguon.feedback.models import Channel, RefusalReason, Status
from nguon.feedback.privacy import ErasureTrigger

register(
    "feedback",
    actions={
        "feedback.submitted": _("Feedback received"),
        "feedback.accepted": _("Feedback accepted"),
        "feedback.refused": _("Feedback refused"),
        "feedback.assigned": _("Feedback assigned"),
        "feedback.started": _("Feedback handling started"),
        "feedback.answer_drafted": _("Answer to feedback drafted"),
        "feedback.answer_approved": _("Answer to feedback approved"),
        "feedback.answer_returned": _("Answer to feedback returned"),
        "feedback.answered": _("Feedback answered"),
        "feedback.closed": _("Feedback closed"),
        "feedback.reopened": _("Feedback reopened by the citizen"),
        "feedback.rated": _("Answer rated by the citizen"),
        "feedback.transferred": _("Feedback transferred"),
        "feedback.noted": _("Internal note on feedback"),
        "feedback.contact_viewed": _("Citizen's contact details viewed"),
        "feedback.personal_data_erased": _("Citizen's personal data erased"),
        "feedback.personal_data_exported": _("Citizen's personal data exported"),
        "feedback.key_issued": _("Partner API key issued"),
        "feedback.key_revoked": _("Partner API key revoked"),
        "feedback.published": _("Answer published in the questions and answers"),
        "feedback.unpublished": _("Answer taken out of the questions and answers"),
        "feedback.bulletin_made": _("Bulletin drafted from the answer"),
    },
    fields={
        "status": Field(_("Status"), values=Status),
        "channel": Field(_("Channel"), values=Channel),
        "reason": Field(_("Reason"), values=RefusalReason),
        "topic": _("Topic"),
        "unit": _("Commune"),
        "handler": _("Handled by"),
        "attachments": _("Files"),
        "due_at": _("Due"),
        "note": _("Note"),
        "duplicate_of": _("Duplicate of"),
        "assignee": _("Assigned to"),
        "on_time": _("On time"),
        "rating": _("Satisfaction"),
        "from": _("From"),
        "to": _("To"),
        "number": _("Feedback number"),
        "numbers": _("Feedback numbers"),
        "count": _("Number of items"),
        "trigger": Field(_("Why"), values=ErasureTrigger),
        "name": _("Name"),
        "prefix": _("Key prefix"),
        "scope": _("Limited to"),
        "can_submit": _("May submit requests"),
        "edited": _("Masked text edited by hand"),
        "bulletin": _("Bulletin"),
    },
)
