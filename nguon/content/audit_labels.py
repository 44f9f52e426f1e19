"""Labels of the content app's audit actions (see nguon/audit/labels.py)."""

from django.utils.translation import gettext_lazy as _

from nguon.audit.labels import CHANGE, Field, register
from nguon.content.models import MediaKind, Priority, Status

register(
    "content",
    actions={
        "content.bulletin_created": _("Bulletin created"),
        "content.bulletin_edited": _("Bulletin edited"),
        "content.bulletin_submitted": _("Bulletin submitted for approval"),
        "content.bulletin_approved": _("Bulletin approved"),
        "content.bulletin_returned": _("Bulletin returned for changes"),
        "content.bulletin_published": _("Bulletin published"),
        "content.bulletin_expired": _("Bulletin expired"),
        "content.bulletin_withdrawn": _("Bulletin withdrawn"),
        "content.bulletin_archived": _("Bulletin archived"),
        "content.bulletin_adopted": _("Bulletin taken into the programme"),
        "content.bulletins_imported": _("Bulletins imported"),
        "content.media_added": _("Media added"),
    },
    fields={
        "status": Field(_("Status"), values=Status, kind=CHANGE),
        "priority": Field(_("Priority class"), values=Priority),
        "kind": Field(_("Kind"), values=MediaKind),
        "sha256": _("SHA-256 checksum"),
        "size": _("Size (bytes)"),
    },
)
