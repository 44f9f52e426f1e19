"""Forms of the public feedback pages: the feedback form (with the self-hosted challenge), the tracking-code form, and
the citizen's rating and reopening forms. Every field has a size limit; the action checks the texts again."""

from __future__ import annotations

from itertools import groupby

from captcha.fields import CaptchaField, CaptchaTextInput
from django import forms
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from nguon.core.collation import vi
from nguon.core.forms import Form
from nguon.feedback import actions
from nguon.feedback.models import Topic
from nguon.units.models import Unit

# Commune-level units (xã, phường, đặc khu) sit at this level of the unit types.
COMMUNE_LEVEL = 3
MAX_CODE = 40


class ChallengeInput(CaptchaTextInput):
    """The challenge as an image with a described alternative, and the answer box (digits only on phones)."""

    template_name = "feedback/public/challenge_widget.html"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is checked by content later (attachments.py)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"multiple": True, "accept": "image/*,audio/*,video/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        files = [f for f in files if f]
        if len(files) > settings.FEEDBACK_MAX_FILES:
            raise forms.ValidationError(
                _("Send at most %(n)s files.") % {"n": settings.FEEDBACK_MAX_FILES}, code="too_many"
            )
        return files


def topic_choices() -> list[tuple[str, str]]:
    english = (translation.get_language() or "vi").startswith("en")
    return [(t.code, (t.name_en if english and t.name_en else t.name)) for t in Topic.objects.filter(is_active=True)]


def communes():
    return Unit.objects.current().filter(unit_type__level=COMMUNE_LEVEL).select_related("unit_type")


def commune_choices() -> list:
    """Communes grouped by kind (phường, xã, đặc khu), each group in Vietnamese order."""
    english = (translation.get_language() or "vi").startswith("en")
    rows = communes().order_by(vi("unit_type__name"), vi("name"))
    groups = []
    for unit_type, units in groupby(rows, key=lambda u: u.unit_type):
        label = unit_type.name_en if english and unit_type.name_en else unit_type.name
        groups.append((label, [(u.code, u.name) for u in units]))
    return groups


def _required(message):
    return {"required": message}


class FeedbackForm(Form):
    topic = forms.ChoiceField(
        label=_("Topic of the feedback"), error_messages=_required(_("Choose a topic from the list."))
    )
    unit = forms.ChoiceField(
        label=_("Commune or ward where it happens"),
        error_messages=_required(_("Choose the commune or ward where it happens.")),
    )
    address = forms.CharField(
        label=_("Address or place"),
        required=False,
        max_length=actions.MAX_ADDRESS,
        help_text=_("House number, street, hamlet, or a landmark nearby."),
    )
    latitude = forms.FloatField(label=_("Latitude"), required=False, min_value=-90, max_value=90)
    longitude = forms.FloatField(label=_("Longitude"), required=False, min_value=-180, max_value=180)
    title = forms.CharField(label=_("Title (optional)"), required=False, max_length=actions.MAX_TITLE)
    text = forms.CharField(
        label=_("What do you want to report?"),
        max_length=actions.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages=_required(_("Describe what you want to report.")),
    )
    files = MultipleFileField(label=_("Photos or a short clip"), required=False)
    name = forms.CharField(label=_("Your name"), required=False, max_length=actions.MAX_NAME)
    phone = forms.CharField(
        label=_("Phone"), required=False, max_length=20, widget=forms.TextInput(attrs={"inputmode": "tel"})
    )
    email = forms.EmailField(
        label=_("E-mail"),
        required=False,
        max_length=254,
        help_text=_("We send the tracking code and the answer to this address."),
    )
    consent_publish = forms.BooleanField(
        label=_("I agree that the answer may be published (without my name and contact details)."), required=False
    )
    challenge = CaptchaField(
        label=_("Anti-spam check: the result of the calculation"),
        widget=ChallengeInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        error_messages={
            "invalid": _("The result of the calculation is wrong. Solve the new calculation."),
            "required": _("Enter the result of the calculation."),
            "incomplete": _("Enter the result of the calculation."),
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["topic"].choices = [("", _("— choose a topic —")), *topic_choices()]
        self.fields["unit"].choices = [("", _("— choose a commune or ward —")), *commune_choices()]
        self.fields["text"].widget.attrs["maxlength"] = actions.MAX_TEXT
        for name in ("latitude", "longitude"):
            self.fields[name].widget.attrs.update({"step": "any", "inputmode": "decimal"})
        self.fields["latitude"].error_messages["invalid"] = _("Enter the latitude as a number, e.g. 10.9472.")
        self.fields["longitude"].error_messages["invalid"] = _("Enter the longitude as a number, e.g. 106.8196.")
        for name, low, high in (("latitude", -90, 90), ("longitude", -180, 180)):
            message = _("Enter a number from %(low)s to %(high)s.") % {"low": low, "high": high}
            self.fields[name].error_messages.update({"min_value": message, "max_value": message})
        self.fields["email"].error_messages["invalid"] = _("Enter a valid e-mail address.")
        for field in self.fields.values():
            field.error_messages["max_length"] = _("At most %(limit_value)d characters (it has %(show_value)d).")

    def feedback_data(self, files: list) -> actions.FeedbackData:
        data = self.cleaned_data
        return actions.FeedbackData(
            topic=Topic.objects.filter(code=data["topic"]).first(),
            unit=communes().filter(code=data["unit"]).first(),
            text=data["text"],
            title=data.get("title") or "",
            address=data.get("address") or "",
            latitude=data.get("latitude"),
            longitude=data.get("longitude"),
            name=data.get("name") or "",
            phone=data.get("phone") or "",
            email=data.get("email") or "",
            consent_publish=bool(data.get("consent_publish")),
            language=(translation.get_language() or "vi")[:5],
            attachments=files,
        )


class CodeForm(Form):
    ma = forms.CharField(
        label=_("Tracking code"),
        max_length=MAX_CODE,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
        error_messages=_required(_("Enter the tracking code you received.")),
    )


class _CitizenForm(Form):
    """Carries the key to the feedback: the tracking code or the signed token (hidden, never shown again)."""

    ma = forms.CharField(required=False, max_length=MAX_CODE, widget=forms.HiddenInput)
    t = forms.CharField(required=False, max_length=300, widget=forms.HiddenInput)


class RateForm(_CitizenForm):
    rating = forms.TypedChoiceField(
        label=_("How satisfied are you with the answer?"),
        choices=[(n, str(n)) for n in range(5, 0, -1)],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages=_required(_("Choose from 1 to 5 stars.")),
    )
    comment = forms.CharField(
        label=_("Comment (optional)"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReopenForm(_CitizenForm):
    reason = forms.CharField(
        label=_("What is still wrong?"),
        max_length=actions.MAX_NOTE,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages=_required(_("Say what is still wrong.")),
    )
