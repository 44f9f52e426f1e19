"""The report page's filter: which unit and which period (a month, a quarter or a year, with its value)."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nguon.accounts.access import units_for_user
from nguon.accounts.forms import add_domain_error
from nguon.core.errors import Invalid
from nguon.core.forms import Form
from nguon.reports import periods

KIND_LABELS = {
    "month": _("Month"),
    "quarter": _("Quarter"),
    "year": _("Year"),
    "range": _("Range of days"),
}
# Units offered in the picker: a province admin sees about a hundred communes; beyond this the list is cut (any
# unit the user may see can still be typed into the URL).
MAX_UNIT_CHOICES = 400


def default_unit(user):
    """The user's widest unit (the first of their units in tree order), shown when the URL names none."""
    return units_for_user(user).order_by("path").first()


class ReportFilterForm(Form):
    """Unit is free text behind a select: a unit outside the user's units must answer 404, not a form error."""

    unit = forms.CharField(label=_("Unit"), required=False, max_length=20, widget=forms.Select())
    period = forms.ChoiceField(label=_("Period"), required=False)
    value = forms.CharField(
        label=_("Which"),
        required=False,
        max_length=30,
        help_text=_("For example 2026-11 (month), 2026-Q4 (quarter), 2026 (year)."),
    )

    def __init__(self, data=None, *, user, report_type, **kwargs):
        super().__init__(data, **kwargs)
        self.report_type = report_type
        units = list(units_for_user(user).order_by("path").values_list("code", "name", "path")[:MAX_UNIT_CHOICES])
        depth = min((p.count("/") for _c, _n, p in units), default=0)
        # Indent by depth below the user's top unit, so the tree reads as a tree in a plain select.
        self.fields["unit"].widget.choices = [
            (code, "\u2003" * (path.count("/") - depth) + name) for code, name, path in units
        ]
        self.fields["period"].choices = [(k, KIND_LABELS[k]) for k in report_type.periods]

    def clean(self):
        data = super().clean()
        kind = data.get("period") or self.report_type.periods[0]
        if "year" in self.report_type.periods and not data.get("period"):
            kind = "year"
        data["period"] = kind
        value = data.get("value") or ""
        try:
            today = timezone.localdate()
            data["period_obj"] = periods.parse(kind, value, today=today) if value else periods.current(kind, today)
        except Invalid as exc:
            add_domain_error(self, _field_named(exc, "value"))
        return data


def _field_named(exc: Invalid, name: str) -> Invalid:
    """The period's errors shown on the value field (the parser names the whole "period")."""
    exc.fields = {name if key == "period" else key: messages for key, messages in exc.fields.items()}
    return exc
