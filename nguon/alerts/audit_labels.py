"""Labels of the alerts app's audit actions (see nguon/audit/labels.py)."""

from django.utils.translation import gettext_lazy as _

from nguon.alerts.models import CapStatus, MsgType, Origin
from nguon.audit.labels import CHANGE, Field, register

register(
    "alerts",
    actions={
        "alerts.created": _("Alert created"),
        "alerts.approved": _("Alert approved"),
        "alerts.issued": _("Alert issued"),
        "alerts.rejected": _("Alert rejected"),
        "alerts.withdrawn": _("Alert withdrawn before approval"),
        "alerts.sender_added": _("Trusted sender added"),
        "alerts.sender_updated": _("Trusted sender changed"),
        "alerts.rule_set": _("Alert approval rule set"),
    },
    fields={
        "identifier": _("CAP identifier"),
        "status": Field(_("CAP status"), values=CapStatus),
        "msg_type": Field(_("Message type"), values=MsgType),
        "headline": _("Headline"),
        "origin": Field(_("Origin"), values=Origin),
        "approvals": _("Approvals given"),
        "required": _("Approvals required"),
        "approvals_required": Field(_("Approvals required"), kind=CHANGE),
        "events": _("Push events"),
        "replaces": _("Replaces alert"),
        "by": _("Withdrawn by alert"),
        "reason": _("Reason"),
        "cap_sender": _("CAP sender"),
        "is_active": Field(_("Active"), kind=CHANGE),
    },
)
