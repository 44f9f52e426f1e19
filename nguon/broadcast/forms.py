from django import forms
from django.utils.translation import gettext_lazy as _

from nguon.accounts.access import organisations_for_user, units_for_user
from nguon.accounts.forms import add_domain_error
from nguon.accounts.roles import Capability
from nguon.broadcast import monitoring
from nguon.broadcast.access import devices_for_user, units_for_group_editor
from nguon.broadcast.actions import DeviceData, GroupData
from nguon.broadcast.models import Connectivity, DeviceKind, Technology
from nguon.core.collation import vi
from nguon.core.errors import DomainError
from nguon.core.forms import Form
from nguon.units.models import OrganisationKind


def _unit_label(unit):
    return f"{'— ' * unit.depth}{unit.name} ({unit.code})"


def _device_label(device):
    return f"{device.name} · {device.code} · {device.unit.name}"


class DeviceForm(Form):
    """Register or edit a device. Ranges (volume, coordinates) are the action's rules; the form only parses."""

    unit = forms.ModelChoiceField(label=_("Unit"), queryset=None)
    code = forms.CharField(label=_("Device code"), max_length=64, help_text=_("Serial or inventory code."))
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=DeviceKind.choices, initial=DeviceKind.SPEAKER)
    technology = forms.ChoiceField(label=_("Technology"), choices=Technology.choices, initial=Technology.IP)
    connectivity = forms.ChoiceField(label=_("Connectivity"), choices=Connectivity.choices,
                                     initial=Connectivity.CELLULAR)  # fmt: skip
    model = forms.CharField(label=_("Model"), max_length=100, required=False)
    station = forms.ModelChoiceField(label=_("Radio station"), queryset=None, required=False)
    latitude = forms.FloatField(label=_("Latitude"), required=False, help_text=_("Decimal degrees, e.g. 10.9447."),
                                widget=forms.NumberInput(attrs={"step": "any"}))  # fmt: skip
    longitude = forms.FloatField(label=_("Longitude"), required=False, help_text=_("Decimal degrees, e.g. 106.8243."),
                                 widget=forms.NumberInput(attrs={"step": "any"}))  # fmt: skip
    volume = forms.IntegerField(
        label=_("Volume (%)"), initial=80, widget=forms.NumberInput(attrs={"min": 0, "max": 100})
    )
    grace_seconds = forms.IntegerField(
        label=_("Offline after (s)"),
        initial=180,
        help_text=_("A device silent for longer is shown offline."),
        widget=forms.NumberInput(attrs={"min": 30, "max": 86400}),
    )
    is_drill = forms.BooleanField(label=_("Takes drills and tests"), required=False)

    def __init__(self, *args, user, device=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units_for_user(user, Capability.MANAGE_DEVICES).current()
        self.fields["unit"].label_from_instance = _unit_label
        stations = organisations_for_user(user).active().filter(kind=OrganisationKind.RADIO_STATION)
        self.fields["station"].queryset = stations
        if device is not None:
            # The code identifies the device to its installer, and the unit owns its history: neither moves here.
            del self.fields["unit"]
            self.fields["code"].disabled = True
            self.fields["code"].required = False

    def to_data(self, device=None) -> DeviceData:
        d = self.cleaned_data
        return DeviceData(
            code=device.code if device is not None else d["code"],
            name=d["name"],
            kind=d["kind"],
            model=d["model"],
            technology=d["technology"],
            connectivity=d["connectivity"],
            latitude=d["latitude"],
            longitude=d["longitude"],
            volume=d["volume"],
            is_drill=d["is_drill"],
            grace_seconds=d["grace_seconds"],
            station=d["station"],
        )

    @staticmethod
    def initial_from(device) -> dict:
        names = ("code", "name", "kind", "technology", "connectivity", "model", "latitude", "longitude", "volume",
                 "grace_seconds", "is_drill")  # fmt: skip
        return {**{name: getattr(device, name) for name in names}, "station": device.station_id}


class FleetFilterForm(Form):
    STATUS_CHOICES = [
        ("", _("All")),
        ("online", _("Online")),
        ("offline", _("Offline")),
        ("never", _("Never seen")),
        ("faults", _("With open faults")),
        ("skewed", _("Clock off by more than 1 s")),
        ("inactive", _("Out of service")),
    ]

    q = forms.CharField(label=_("Name or code"), required=False, max_length=100)
    unit = forms.ChoiceField(label=_("Unit"), required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", _("All")), *DeviceKind.choices], required=False)
    technology = forms.ChoiceField(label=_("Technology"), choices=[("", _("All")), *Technology.choices], required=False)
    status = forms.ChoiceField(label=_("Status"), choices=STATUS_CHOICES, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = unit_choices(user)


class GroupForm(Form):
    unit = forms.ModelChoiceField(label=_("Owner"), queryset=None,
                                  help_text=_("Members may come from any commune below the owner."))  # fmt: skip
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    devices = forms.ModelMultipleChoiceField(
        label=_("Devices"), queryset=None, required=False, widget=forms.SelectMultiple(attrs={"size": 14})
    )

    def __init__(self, *args, user, group=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units_for_group_editor(user).current()
        self.fields["unit"].label_from_instance = _unit_label
        devices = devices_for_user(user).filter(is_active=True).order_by("unit__path", vi("name"))
        if group is not None:
            del self.fields["unit"]
            devices = devices.in_unit(group.unit)
        self.fields["devices"].queryset = devices
        self.fields["devices"].label_from_instance = _device_label

    def to_data(self) -> GroupData:
        d = self.cleaned_data
        return GroupData(name=d["name"], description=d["description"], devices=list(d["devices"]))


class DateInput(forms.DateInput):
    """A browser date picker: its value is always ISO (YYYY-MM-DD), whatever the language shows."""

    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class StatsFilterForm(Form):
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())
    unit = forms.ChoiceField(label=_("Unit"), required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", _("All")), *DeviceKind.choices], required=False)

    def __init__(self, data=None, *args, user, **kwargs):
        if data is not None and not data.get("date_from") and not data.get("date_to"):
            # Show the days actually reported on: the default range when the query names none.
            first, last = monitoring.default_range()
            data = data.copy()
            data["date_from"], data["date_to"] = first.isoformat(), last.isoformat()
        super().__init__(data, *args, **kwargs)
        self.fields["unit"].choices = unit_choices(user)

    def clean(self):
        data = super().clean()
        try:
            data["first_day"], data["last_day"] = monitoring.stats_range(data.get("date_from"), data.get("date_to"))
        except DomainError as exc:
            add_domain_error(self, exc)
        return data


def unit_choices(user) -> list[tuple[str, str]]:
    """The user's units that hold devices, and the units above them, as filter choices (one query)."""
    units = list(units_for_user(user).filter(devices__isnull=False).distinct().order_by("path"))
    paths = sorted({"/".join(u.path.split("/")[: i + 1]) + "/" for u in units for i in range(u.depth + 1)})
    above = {u.path: u for u in units_for_user(user).filter(path__in=paths)} if paths else {}
    return [("", _("All")), *[(u.code, _unit_label(u)) for _path, u in sorted(above.items())]]
