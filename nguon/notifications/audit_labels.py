"""Labels of the notifications app's audit actions (see nguon/audit/labels.py)."""

from django.utils.translation import gettext_lazy as _

from nguon.audit.labels import register

register(
    "notifications",
    actions={"notifications.preferences_changed": _("Notification settings changed")},
    fields={"channels": _("Channels changed")},
)
