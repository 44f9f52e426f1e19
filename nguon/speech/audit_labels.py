"""Labels of the speech app's audit actions (see nguon/audit/labels.py)."""

from django.utils.translation import gettext_lazy as _

from nguon.audit.labels import register

register(
    "speech",
    actions={
        "speech.render_retried": _("Speech rendering retried"),
        "speech.lexicon_saved": _("Pronunciation entry saved"),
        "speech.lexicon_disabled": _("Pronunciation entry disabled"),
    },
    fields={"term": _("Term"), "spoken": _("Spoken as"), "created": _("New entry")},
)
