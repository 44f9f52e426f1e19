"""Labels of the broadcast app's audit actions (see nguon/audit/labels.py)."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from nguon.audit.labels import CHANGE, Field, register, register_pattern
from nguon.broadcast.models import Connectivity, DeviceKind, Technology
from nguon.content.models import Priority

# Device updates store each changed field as [old, new] strings.
_BOOLEAN_TEXT = {"True": _("yes"), "False": _("no"), "None": "—"}

register(
    "broadcast",
    actions={
        "broadcast.device_created": _("Device registered"),
        "broadcast.device_updated": _("Device changed"),
        "broadcast.enrolment_code_issued": _("Enrolment code issued"),
        "broadcast.device_enrolled": _("Device enrolled"),
        "broadcast.tokens_revoked": _("Device tokens revoked"),
        "broadcast.command_play": _("Command sent: play"),
        "broadcast.command_stop": _("Command sent: stop"),
        "broadcast.command_live": _("Command sent: start live broadcast"),
        "broadcast.command_live_stop": _("Command sent: stop live broadcast"),
        "broadcast.command_volume": _("Command sent: volume"),
        "broadcast.command_reboot": _("Command sent: restart"),
        "broadcast.group_created": _("Device group created"),
        "broadcast.group_updated": _("Device group changed"),
        "broadcast.slot_created": _("Slot created"),
        "broadcast.slot_updated": _("Slot changed"),
        "broadcast.slot_removed": _("Slot removed"),
        "broadcast.slot_reordered": _("Slot items reordered"),
        "broadcast.template_created": _("Programme template created"),
        "broadcast.template_deleted": _("Programme template deleted"),
        "broadcast.priority_inserted": _("Priority bulletin inserted into a slot"),
        "broadcast.priority_removed": _("Priority bulletin removed from a slot"),
        "broadcast.emergency_dispatched": _("Emergency bulletin dispatched"),
    },
    fields={
        "code": _("Device code"),
        "kind": Field(_("Kind"), values=DeviceKind, kind=CHANGE),
        "model": Field(_("Model"), kind=CHANGE),
        "technology": Field(_("Technology"), values=Technology, kind=CHANGE),
        "connectivity": Field(_("Connection"), values=Connectivity, kind=CHANGE),
        "latitude": Field(_("Latitude"), kind=CHANGE),
        "longitude": Field(_("Longitude"), kind=CHANGE),
        "volume": Field(_("Volume"), kind=CHANGE),
        "is_drill": Field(_("Drill device"), values=_BOOLEAN_TEXT, kind=CHANGE),
        "grace_seconds": Field(_("Grace period (seconds)"), kind=CHANGE),
        "station": Field(_("Station"), kind=CHANGE),
        "hardware": _("Hardware"),
        "description": Field(_("Description"), kind=CHANGE),
        "added": pgettext_lazy("audit field", "Added"),
        "removed": pgettext_lazy("audit field", "Removed"),
        "order": Field(_("Order"), kind=CHANGE),
        "priority": Field(_("Priority class"), values=Priority),
        "event": _("Push event"),
        "item": _("Item"),
        "url": _("Stream address"),
        "until": _("Until"),
    },
)
# Commands added later still read as commands until they get their own label.
register_pattern(r"broadcast\.command_(?P<type>[a-z_]+)", _("Command sent: %(type)s"))
