"""Labels of the units app's audit actions (see nguon/audit/labels.py)."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from nguon.audit.labels import CHANGE, Field, register
from nguon.units.models import OrganisationKind

register(
    "units",
    actions={
        "units.unit_updated": _("Unit renamed"),
        "units.organisation_created": _("Organisation created"),
        "units.imported": _("Units imported"),
    },
    fields={
        "name_en": Field(_("English name"), kind=CHANGE),
        "kind": Field(_("Kind"), values=OrganisationKind),
        "retired": pgettext_lazy("audit field", "Retired"),
        "unchanged": pgettext_lazy("audit field", "Unchanged"),
    },
)
