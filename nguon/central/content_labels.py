"""Labels of the audit actions of what the central link carries (see nguon/audit/labels.py)."""

from django.utils.translation import gettext_lazy as _

from nguon.audit.labels import register

register(
    "central",
    actions={
        "central.bulletin_shared_up": _("Bulletin shared with the level above"),
        "central.bulletin_received": _("Bulletin received from the level above"),
        "central.alert_received": _("Alert received from the level above"),
        "central.files_exported": _("Messages exported for the data-sharing platform"),
        "central.files_imported": _("Messages imported from the data-sharing platform"),
    },
    fields={
        "uri": _("identifier"),
        "identifier": _("identifier"),
        "priority": _("priority"),
        "revision": _("revision"),
        "version": _("version"),
        "link": _("link"),
        "key": _("idempotency key"),
        "sender": _("sender"),
        "files": _("files"),
        "applied": _("applied"),
    },
)
