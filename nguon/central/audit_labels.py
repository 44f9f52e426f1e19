"""Labels of the central link's audit actions (see nguon/audit/labels.py)."""

from django.utils.translation import gettext_lazy as _

from nguon.audit.labels import CHANGE, Field, register
from nguon.central.link_models import Link

register(
    "central",
    actions={
        "central.pairing_code_created": _("Pairing code created for a child instance"),
        "central.child_paired": _("Child instance paired"),
        "central.paired": _("Paired with the parent instance"),
        "central.link_suspended": _("Central link suspended"),
        "central.link_resumed": _("Central link resumed"),
    },
    fields={
        "name": _("Name"),
        "base_url": _("Peer address"),
        "peer_instance_id": _("Peer instance id"),
        "peer_unit_code": _("Peer unit code"),
        "peer_name": _("Peer name"),
        "state": Field(_("State"), values=Link.State, kind=CHANGE),
    },
)
