"""Forms of the schedule pages: slots with their ordered items, programme templates, live broadcasts."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.core.validators import URLValidator
from django.db.models import Q
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from nguon.broadcast.access import devices_for_user, groups_for_user
from nguon.broadcast.actions import SlotData
from nguon.broadcast.models import Device, DeviceGroup, DeviceKind, ItemKind, Recurrence
from nguon.broadcast.tt39 import playable_bulletins, self_and_ancestor_paths
from nguon.content.access import library_for_user
from nguon.content.forms import DateTimeLocalInput
from nguon.content.models import MediaKind
from nguon.core.collation import vi
from nguon.core.forms import Form


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


def groups_for_unit(unit):
    """Device groups a slot of `unit` may aim at: the unit's own, those below it, and those of the units above."""
    condition = Q(unit__path__startswith=unit.path) | Q(unit__path__in=self_and_ancestor_paths(unit))
    return DeviceGroup.objects.filter(condition).select_related("unit")


class SlotForm(Form):
    """When a slot plays and to which devices. The action re-checks every rule; the form checks the obvious ones
    too, so that the conflict check can answer before anything is saved."""

    name = forms.CharField(label=_("Name"), max_length=200, help_text=_("E.g. Morning programme."))
    recurrence = forms.ChoiceField(
        label=_("Repeats"), choices=Recurrence.choices, initial=Recurrence.DAILY, widget=forms.RadioSelect
    )
    weekdays = forms.MultipleChoiceField(
        label=_("On these days"),
        choices=[(str(number + 1), name) for number, name in WEEKDAYS.items()],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Only for “On chosen weekdays”."),
    )
    start_date = forms.DateField(label=_("From"), widget=DateInput(), help_text=_("For a one-off slot: its day."))
    end_date = forms.DateField(
        label=_("Until"), required=False, widget=DateInput(), help_text=_("Empty: with no end. Not used for one-off.")
    )
    start_time = forms.TimeField(label=_("Starts"), widget=TimeInput())
    end_time = forms.TimeField(label=_("Ends"), widget=TimeInput(), help_text=_("A slot cannot cross midnight."))
    group = forms.ModelChoiceField(
        label=_("Device group"), queryset=None, required=False, empty_label=_("Every device of the unit")
    )
    device_kind = forms.ChoiceField(
        label=_("Device kind"), choices=[("", _("Loudspeakers and e-boards")), *DeviceKind.choices], required=False
    )
    volume = forms.IntegerField(
        label=_("Volume (%)"),
        required=False,
        min_value=0,
        max_value=100,
        help_text=_("Empty: each device's own volume."),
    )

    def __init__(self, *args, unit, **kwargs):
        super().__init__(*args, **kwargs)
        self.unit = unit
        self.fields["group"].queryset = groups_for_unit(unit)
        self.fields["group"].label_from_instance = lambda g: f"{g.name} ({g.unit.name})"

    def clean(self):
        data = super().clean()
        start, end = data.get("start_time"), data.get("end_time")
        if start and end and end <= start:
            self.add_error("end_time", _("The slot must end after it starts (a slot cannot cross midnight)."))
        if data.get("recurrence") == Recurrence.ONCE:
            data["end_date"] = None
        first, last = data.get("start_date"), data.get("end_date")
        if first and last and last < first:
            self.add_error("end_date", _("The last day comes before the first."))
        if data.get("recurrence") == Recurrence.WEEKDAYS and not data.get("weekdays"):
            self.add_error("weekdays", _("Choose at least one day of the week."))
        return data

    def slot_data(self, items: list[dict] | None = None) -> SlotData:
        d = self.cleaned_data
        weekdays = ",".join(sorted(d["weekdays"])) if d["recurrence"] == Recurrence.WEEKDAYS else ""
        return SlotData(
            name=d["name"],
            start_time=d["start_time"],
            end_time=d["end_time"],
            start_date=d["start_date"],
            end_date=d["end_date"],
            recurrence=d["recurrence"],
            weekdays=weekdays,
            group=d["group"],
            device_kind=d["device_kind"],
            volume=d["volume"],
            items=items or [],
        )

    @staticmethod
    def initial_from(slot) -> dict:
        return {
            "name": slot.name,
            "recurrence": slot.recurrence,
            "weekdays": sorted(str(d) for d in slot.weekday_set()),
            "start_date": slot.start_date,
            "end_date": slot.end_date,
            "start_time": slot.start_time,
            "end_time": slot.end_time,
            "group": slot.group_id,
            "device_kind": slot.device_kind,
            "volume": slot.volume,
        }


def _bulletin_label(bulletin) -> str:
    label = f"{bulletin.title} · {bulletin.owner_unit.name}"
    if bulletin.priority != "normal":
        label = f"[{bulletin.get_priority_display()}] {label}"
    return label


class SlotItemForm(Form):
    """One row of a slot's programme: a bulletin, a media file or a stream, one of the three."""

    bulletin = forms.ModelChoiceField(label=_("Bulletin"), queryset=None, required=False)
    media = forms.ModelChoiceField(label=_("Media file"), queryset=None, required=False)
    stream_url = forms.CharField(
        label=_("Stream address"),
        max_length=200,
        required=False,
        validators=[URLValidator(schemes=["http", "https"])],
        widget=forms.URLInput(attrs={"placeholder": "https://…"}),
        error_messages={"invalid": _("Enter a full stream address starting with http:// or https://.")},
    )
    stream_name = forms.CharField(
        label=_("Stream name"), max_length=200, required=False, widget=forms.TextInput(attrs={"placeholder": "VOV1"})
    )

    def __init__(self, *args, unit, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bulletin"].queryset = playable_bulletins(unit).order_by("-published_at", "title")
        self.fields["bulletin"].label_from_instance = _bulletin_label
        # Library files only: a bulletin's rendered speech plays through the bulletin, once approved.
        media = library_for_user(user).usable_in(unit)
        self.fields["media"].queryset = media.filter(kind__in=[MediaKind.AUDIO, MediaKind.IMAGE, MediaKind.VIDEO])
        self.pushed = bool(self.initial.get("pushed"))
        if self.pushed:
            # TT 39: a priority bulletin sent from above stays; the operator only changes its place.
            for name in ("bulletin", "media", "stream_url", "stream_name"):
                self.fields[name].disabled = True

    def clean(self):
        data = super().clean()
        chosen = [name for name in ("bulletin", "media", "stream_url") if data.get(name)]
        if len(chosen) > 1:
            raise forms.ValidationError(_("Choose one thing per row: a bulletin, a media file or a stream."))
        if data.get("stream_name") and not data.get("stream_url"):
            self.add_error("stream_url", _("Enter the stream's address."))
        return data

    def item(self) -> dict | None:
        d = self.cleaned_data
        if d.get("bulletin"):
            return {"kind": ItemKind.BULLETIN, "bulletin": d["bulletin"]}
        if d.get("media"):
            return {"kind": ItemKind.MEDIA, "media": d["media"]}
        if d.get("stream_url"):
            return {"kind": ItemKind.RELAY, "stream_url": d["stream_url"], "stream_name": d.get("stream_name", "")}
        return None


class BaseSlotItemFormSet(forms.BaseFormSet):
    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        if getattr(form, "pushed", False) and "DELETE" in form.fields:
            form.fields["DELETE"].disabled = True
        return form

    def items(self) -> list[dict]:
        """The rows in the order asked for (ORDER numbers; rows without one last), empty and deleted rows left out."""
        found = []
        for form in self.ordered_forms:
            item = form.item()
            if item is not None:
                found.append(item)
        return found


SlotItemFormSet = forms.formset_factory(
    SlotItemForm, formset=BaseSlotItemFormSet, extra=3, can_order=True, can_delete=True, max_num=60
)


def item_initial(items) -> list[dict]:
    """Initial rows from SlotItem rows (or template dicts resolved to objects)."""
    rows = []
    for item in items:
        get = item.get if isinstance(item, dict) else lambda name, i=item: getattr(i, name)
        rows.append(
            {
                "bulletin": get("bulletin"),
                "media": get("media"),
                "stream_url": get("stream_url") or "",
                "stream_name": get("stream_name") or "",
                "pushed": bool(get("pushed")),
            }
        )
    return rows


def item_formset(*, unit, user, data=None, initial=None) -> BaseSlotItemFormSet:
    initial = initial or []
    for position, row in enumerate(initial, start=1):
        row.setdefault("ORDER", position)
    return SlotItemFormSet(data, initial=initial, prefix="items", form_kwargs={"unit": unit, "user": user})


class TemplateForm(Form):
    name = forms.CharField(label=_("Template name"), max_length=200, help_text=_("E.g. Morning programme."))


class LiveForm(Form):
    """Start a live broadcast: the Icecast mount the encoder sends to, and the devices that play it."""

    mount = forms.CharField(
        label=_("Mount"),
        max_length=100,
        initial="truc-tiep.mp3",
        help_text=_("The name the encoder sends to on the Icecast server, e.g. truc-tiep.mp3."),
    )
    title = forms.CharField(label=_("Title"), max_length=200)
    until = forms.DateTimeField(label=_("Until"), widget=DateTimeLocalInput())
    devices = forms.ModelMultipleChoiceField(
        label=_("Devices"), queryset=None, required=False, widget=forms.SelectMultiple(attrs={"size": 8})
    )
    groups = forms.ModelMultipleChoiceField(
        label=_("Device groups"), queryset=None, required=False, widget=forms.SelectMultiple(attrs={"size": 4})
    )

    def __init__(self, *args, unit, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.unit = unit
        devices = devices_for_user(user).filter(unit__path__startswith=unit.path, is_active=True)
        self.fields["devices"].queryset = devices.order_by("unit__path", vi("name"))
        self.fields["devices"].label_from_instance = lambda d: f"{d.name} · {d.code} · {d.unit.name}"
        self.fields["groups"].queryset = groups_for_user(user).filter(unit__path__startswith=unit.path)
        if not self.is_bound:
            self.initial.setdefault(
                "until", (timezone.localtime() + timedelta(hours=1)).replace(second=0, microsecond=0)
            )

    def chosen_devices(self) -> list[Device]:
        """The devices chosen one by one and those of the chosen groups, inside the unit only."""
        d = self.cleaned_data
        chosen = {device.pk: device for device in d["devices"]}
        for group in d["groups"]:
            for device in group.devices.select_related("unit").filter(is_active=True):
                if self.unit.contains(device.unit):
                    chosen.setdefault(device.pk, device)
        return list(chosen.values())
