"""Forms of the report archive: ask for a report to be generated, and set up a schedule."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from nguon.accounts.access import units_for_user
from nguon.accounts.forms import UnitChoiceMixin
from nguon.accounts.roles import Capability
from nguon.core.forms import Form
from nguon.reports import catalogue
from nguon.reports.actions import SCHEDULE_PERIODS
from nguon.reports.exports import FORMATS

FORMAT_CHOICES = [("xlsx", "Excel (.xlsx)"), ("docx", "Word (.docx)"), ("pdf", "PDF")]
PERIOD_CHOICES = [("month", _("Month")), ("quarter", _("Quarter")), ("year", _("Year")), ("range", _("Days"))]
SCHEDULE_CHOICES = [("month", _("Every month")), ("quarter", _("Every quarter")), ("year", _("Every year"))]


def _report_choices():
    return [(t.key, t.title()) for t in catalogue.types()]


class RunForm(Form):
    """What to generate; the view looks the unit up first (404 outside the user's units)."""

    kind = forms.ChoiceField(label=_("Report"), choices=_report_choices)
    unit = forms.ChoiceField(label=_("Unit"))
    period_kind = forms.ChoiceField(label=_("Period"), choices=PERIOD_CHOICES)
    period = forms.CharField(
        label=_("Which period"),
        max_length=30,
        help_text=_("For example 2026-11 (a month), 2026-Q4 (a quarter), 2026 (a year), 2026-01-01..2026-03-31."),
    )
    formats = forms.MultipleChoiceField(
        label=_("Formats"), choices=FORMAT_CHOICES, widget=forms.CheckboxSelectMultiple, initial=list(FORMATS)
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        units = units_for_user(user).current().order_by("path")
        self.fields["unit"].choices = [(u.code, f"{'— ' * u.depth}{u.name} ({u.code})") for u in units]


class ScheduleForm(UnitChoiceMixin, Form):
    kind = forms.ChoiceField(label=_("Report"), choices=_report_choices)
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=None)
    period_kind = forms.ChoiceField(
        label=_("Every"),
        choices=SCHEDULE_CHOICES,
        help_text=_("Made at 06:00 on the first day of the next month, quarter or year, for the period just ended."),
    )
    formats = forms.MultipleChoiceField(
        label=_("Formats"), choices=FORMAT_CHOICES, widget=forms.CheckboxSelectMultiple, initial=list(FORMATS)
    )
    recipients = forms.CharField(
        label=_("E-mail to"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One address per line (or separated by commas); leave empty to keep the reports in the archive only."
        ),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_units(user, Capability.SCHEDULE_REPORTS)
        self.fields["period_kind"].choices = [c for c in SCHEDULE_CHOICES if c[0] in SCHEDULE_PERIODS]

    def clean_recipients(self) -> list[str]:
        return [part for part in re.split(r"[\s,;]+", self.cleaned_data.get("recipients") or "") if part]
