"""Forms of the alerts back office: compose (or update), decide, import a CAP file, filter the list.

The forms only parse what was typed; the rules about an alert (expiry in the future, closed polygons, an area
inside the issuing unit) belong to `actions.validate`, whose problems the views place next to the fields.
"""

from __future__ import annotations

import math
from datetime import timedelta

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nguon.accounts.access import units_for_user
from nguon.accounts.roles import Capability
from nguon.alerts.models import (
    Alert,
    AlertState,
    CapStatus,
    Category,
    Certainty,
    ResponseType,
    RiskLevel,
    Severity,
    Urgency,
)
from nguon.content.forms import DateTimeLocalInput
from nguon.core.forms import Form

# A CAP file is a few kilobytes; anything far larger is not an alert.
MAX_CAP_BYTES = 2 * 1024 * 1024
DEFAULT_LIFETIME = timedelta(hours=6)


def _unit_label(unit) -> str:
    return f"{'— ' * unit.depth}{unit.name} ({unit.code})"


def _number(text: str, line: int, what) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise forms.ValidationError(
            _("Line %(line)d: “%(text)s” is not a number (%(what)s)."),
            params={"line": line, "text": text, "what": what},
        )
    return value


def _point(text: str, line: int) -> list[float]:
    parts = text.split(",")
    if len(parts) != 2:
        raise forms.ValidationError(
            _("Line %(line)d: “%(text)s” is not a point; write latitude,longitude (for example 10.95,106.82)."),
            params={"line": line, "text": text},
        )
    return [_number(parts[0].strip(), line, _("latitude")), _number(parts[1].strip(), line, _("longitude"))]


def parse_polygons(text: str) -> list[list[list[float]]]:
    """One polygon per line, as CAP writes them: "lat,lon lat,lon …" (the last point repeating the first)."""
    polygons, errors = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            polygons.append([_point(pair, number) for pair in line.split()])
        except forms.ValidationError as exc:
            errors.append(exc)
    if errors:
        raise forms.ValidationError(errors)
    return polygons


def parse_circles(text: str) -> list[list[float]]:
    """One circle per line, as CAP writes them: "lat,lon radius_km"."""
    circles, errors = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            if len(parts) != 2:
                raise forms.ValidationError(
                    _("Line %(line)d: write the centre and the radius in km, for example “10.95,106.82 5”."),
                    params={"line": number},
                )
            lat, lon = _point(parts[0], number)
            radius = _number(parts[1].replace(",", "."), number, _("radius in km"))
            if radius <= 0:
                raise forms.ValidationError(
                    _("Line %(line)d: the radius must be more than 0 km."), params={"line": number}
                )
            circles.append([lat, lon, radius])
        except forms.ValidationError as exc:
            errors.append(exc)
    if errors:
        raise forms.ValidationError(errors)
    return circles


def _coordinate(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def polygons_text(polygons) -> str:
    return "\n".join(" ".join(f"{_coordinate(lat)},{_coordinate(lon)}" for lat, lon in ring) for ring in polygons)


def circles_text(circles) -> str:
    return "\n".join(f"{_coordinate(lat)},{_coordinate(lon)} {_coordinate(radius)}" for lat, lon, radius in circles)


class AlertForm(Form):
    unit = forms.ModelChoiceField(label=_("Issuing unit"), queryset=None)
    status = forms.ChoiceField(
        label=_("Kind of message"),
        choices=CapStatus.choices,
        initial=CapStatus.ACTUAL,
        help_text=_("Exercise and Test messages reach only devices marked for drills, and never the public page."),
    )
    event = forms.CharField(label=_("Event"), max_length=200, help_text=_("For example: Lũ quét, Sạt lở đất, Bão."))
    categories = forms.MultipleChoiceField(
        label=_("Categories"), choices=Category.choices, widget=forms.CheckboxSelectMultiple
    )
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices, initial=Urgency.IMMEDIATE)
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices, initial=Severity.SEVERE)
    certainty = forms.ChoiceField(label=_("Certainty"), choices=Certainty.choices, initial=Certainty.LIKELY)
    risk_level = forms.TypedChoiceField(
        label=_("Disaster risk level"),
        choices=[("", _("Not given")), *RiskLevel.choices],
        coerce=int,
        empty_value=None,
        required=False,
        help_text=_("QĐ 18/2021/QĐ-TTg, for natural disasters; carried in CAP as the parameter CapDoRuiRoThienTai."),
    )
    response_types = forms.MultipleChoiceField(
        label=_("What people should do"),
        choices=ResponseType.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    headline = forms.CharField(
        label=_("Headline"), max_length=300, help_text=_("One short sentence: shown on e-boards and read first.")
    )
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=10_000
    )
    instruction = forms.CharField(
        label=_("Instruction"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=10_000
    )
    sender_name = forms.CharField(
        label=_("Issued by (shown to the public)"),
        max_length=255,
        required=False,
        help_text=_("Empty: the name of the issuing unit."),
    )
    event_en = forms.CharField(label=_("Event (English)"), max_length=200, required=False)
    headline_en = forms.CharField(label=_("Headline (English)"), max_length=300, required=False)
    description_en = forms.CharField(
        label=_("Description (English)"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=10_000
    )
    instruction_en = forms.CharField(
        label=_("Instruction (English)"), widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=10_000
    )
    onset = forms.DateTimeField(
        label=_("Onset"), required=False, widget=DateTimeLocalInput(), help_text=_("Vietnam time. May be left empty.")
    )
    expires = forms.DateTimeField(label=_("Expires"), widget=DateTimeLocalInput(), help_text=_("Vietnam time."))
    area_units = forms.ModelMultipleChoiceField(
        label=_("Units in the area"),
        queryset=None,
        required=False,
        help_text=_("Every device in these units and below. Hold Ctrl (⌘ on a Mac) to choose several."),
        widget=forms.SelectMultiple(attrs={"size": 10}),
    )
    polygons = forms.CharField(
        label=_("Polygons"),
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "mono"}),
        required=False,
        max_length=200_000,
        help_text=_(
            "One polygon per line, as in CAP: latitude,longitude pairs separated by spaces, the last point "
            "repeating the first. Example: 10.90,106.80 10.90,106.90 11.00,106.90 10.90,106.80"
        ),
    )
    circles = forms.CharField(
        label=_("Circles"),
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "class": "mono"}),
        required=False,
        max_length=20_000,
        help_text=_(
            "One circle per line: centre latitude,longitude, a space, the radius in km. Example: 10.95,106.82 5"
        ),
    )
    area_desc = forms.CharField(
        label=_("Area description"),
        max_length=500,
        required=False,
        help_text=_("In words, for people: “Các xã ven sông Đồng Nai”. Empty: the names of the units."),
    )
    repeat = forms.IntegerField(
        label=_("Times the message is read"), min_value=1, max_value=5, help_text=_("From 1 to 5.")
    )

    # The fields whose problems `actions.validate` may also report, in the form's order.
    DOMAIN_FIELDS = ("status", "event", "categories", "urgency", "severity", "certainty", "risk_level",
                     "response_types", "headline", "onset", "expires", "area_units", "polygons", "repeat")  # fmt: skip

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        units = units_for_user(user, Capability.ISSUE_ALERTS).current().order_by("path")
        self.fields["unit"].queryset = units
        self.fields["unit"].label_from_instance = _unit_label
        # Every unit below one the user may issue for; the action checks that they lie under the chosen one.
        self.fields["area_units"].queryset = units
        self.fields["area_units"].label_from_instance = _unit_label
        if not self.is_bound:
            self.fields["expires"].initial = timezone.now().replace(second=0, microsecond=0) + DEFAULT_LIFETIME
            self.fields["repeat"].initial = settings.ALERT_REPEAT
            # The user's highest unit first (ordered by path): where most alerts are issued from.
            self.fields["unit"].initial = units.first()

    def clean_polygons(self):
        return parse_polygons(self.cleaned_data["polygons"])

    def clean_circles(self):
        return parse_circles(self.cleaned_data["circles"])

    def alert_data(self, *, replaces: Alert | None = None) -> dict:
        """The data `do_create_alert` takes; on a form with errors, what could be parsed (for `actions.validate`)."""
        d = getattr(self, "cleaned_data", {})
        unit = d.get("unit")
        data = {
            "status": d.get("status"),
            "msg_type": "Update" if replaces is not None else "Alert",
            "event": d.get("event", ""),
            "categories": d.get("categories", []),
            "urgency": d.get("urgency"),
            "severity": d.get("severity"),
            "certainty": d.get("certainty"),
            "risk_level": d.get("risk_level"),
            "response_types": d.get("response_types", []),
            "headline": d.get("headline", ""),
            "description": d.get("description", ""),
            "instruction": d.get("instruction", ""),
            "sender_name": d.get("sender_name") or (unit.name if unit else ""),
            "event_en": d.get("event_en", ""),
            "headline_en": d.get("headline_en", ""),
            "description_en": d.get("description_en", ""),
            "instruction_en": d.get("instruction_en", ""),
            "onset": d.get("onset"),
            "expires": d.get("expires"),
            "area_units": list(d.get("area_units") or []),
            "polygons": d.get("polygons") or [],
            "circles": d.get("circles") or [],
            "area_desc": d.get("area_desc", ""),
            "repeat": d.get("repeat"),
        }
        if replaces is not None:
            data["replaces"] = replaces
        return data

    @staticmethod
    def initial_from(alert: Alert) -> dict:
        """The form filled from an alert, for an Update (a new expiry: the old one may be close)."""
        now = timezone.now().replace(second=0, microsecond=0)
        expires = (
            alert.expires if alert.expires and alert.expires > now + timedelta(hours=1) else now + DEFAULT_LIFETIME
        )
        return {
            "unit": alert.unit,
            "status": alert.status,
            "event": alert.event,
            "categories": list(alert.categories),
            "urgency": alert.urgency,
            "severity": alert.severity,
            "certainty": alert.certainty,
            "risk_level": alert.risk_level,
            "response_types": list(alert.response_types),
            "headline": alert.headline,
            "description": alert.description,
            "instruction": alert.instruction,
            "sender_name": alert.sender_name,
            "event_en": alert.event_en,
            "headline_en": alert.headline_en,
            "description_en": alert.description_en,
            "instruction_en": alert.instruction_en,
            "onset": alert.onset,
            "expires": expires,
            "area_units": list(alert.area_units.all()),
            "polygons": polygons_text(alert.polygons),
            "circles": circles_text(alert.circles),
            "area_desc": alert.area_desc,
            "repeat": alert.repeat,
        }


class DecisionForm(Form):
    """The reason given when rejecting (required) or cancelling (optional) an alert."""

    comment = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)

    def __init__(self, *args, required: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["comment"].required = required


class ImportForm(Form):
    unit = forms.ModelChoiceField(label=_("Issuing unit"), queryset=None)
    file = forms.FileField(label=_("CAP 1.2 file (XML)"), help_text=_("At most 2 MB."))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units_for_user(user, Capability.ISSUE_ALERTS).current().order_by("path")
        self.fields["unit"].label_from_instance = _unit_label

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_CAP_BYTES:
            raise forms.ValidationError(_("The file is too large for a CAP alert: at most 2 MB."))
        return upload


class AlertFilterForm(Form):
    state = forms.ChoiceField(label=_("State"), choices=[("", _("All")), *AlertState.choices], required=False)
    status = forms.ChoiceField(label=_("Kind"), choices=[("", _("All")), *CapStatus.choices], required=False)

    def filter(self, queryset):
        if not self.is_valid():
            return queryset
        if self.cleaned_data["state"]:
            queryset = queryset.filter(state=self.cleaned_data["state"])
        if self.cleaned_data["status"]:
            queryset = queryset.filter(status=self.cleaned_data["status"])
        return queryset
