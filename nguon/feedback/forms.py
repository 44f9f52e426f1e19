"""Back-office forms for feedback: the list's filters, one small form per workflow step, and staff entry."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from nguon.accounts.access import units_for_user
from nguon.accounts.roles import Capability
from nguon.core.forms import Form
from nguon.feedback.actions import MAX_ANSWER, MAX_NOTE, MAX_TEXT, FeedbackData
from nguon.feedback.models import STAFF_CHANNELS, Channel, RefusalReason, Status, Topic
from nguon.notifications.recipients import holders
from nguon.units.models import Organisation

# Pseudo-statuses of the filter: every open item, and open items past their deadline.
OPEN = "open"
SORTS = (
    ("-received", _("Newest first")),
    ("received", _("Oldest first")),
    ("due", _("Deadline, soonest first")),
    ("-due", _("Deadline, latest first")),
)


def _unit_label(unit):
    return f"{'— ' * unit.depth}{unit.name}"


class DateInput(forms.DateInput):
    input_type = "date"


class FeedbackFilterForm(Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("All")), (OPEN, _("Not yet answered")), *Status.choices], required=False
    )
    topic = forms.ModelChoiceField(label=_("Topic"), queryset=Topic.objects.all(), required=False, empty_label=_("All"))
    unit = forms.ModelChoiceField(label=_("Commune"), queryset=None, required=False, empty_label=_("All"))
    channel = forms.ChoiceField(label=_("Channel"), choices=[("", _("All")), *Channel.choices], required=False)
    date_from = forms.DateField(label=_("Received from"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("Received until"), required=False, widget=DateInput())
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    mine = forms.BooleanField(label=_("Assigned to me"), required=False)
    sort = forms.ChoiceField(label=_("Order"), choices=SORTS, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units_for_user(user).current()
        self.fields["unit"].label_from_instance = _unit_label


class RefuseForm(Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=RefusalReason.choices)
    note = forms.CharField(
        label=_("Explanation for the citizen"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=MAX_NOTE,
    )
    duplicate_of = forms.CharField(
        label=_("Number of the feedback it repeats"),
        required=False,
        max_length=20,
        help_text=_("Only for duplicates, e.g. PA-2026-000042."),
    )


class AssignForm(Form):
    assignee = forms.ModelChoiceField(label=_("Assign to"), queryset=None)

    def __init__(self, *args, feedback, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = holders(Capability.HANDLE_FEEDBACK, feedback.handler_unit).order_by(
            "full_name", "username"
        )
        self.fields["assignee"].label_from_instance = lambda u: u.full_name or u.username


class AnswerForm(Form):
    answer = forms.CharField(label=_("Answer"), widget=forms.Textarea(attrs={"rows": 8}), max_length=MAX_ANSWER)


class ReturnForm(Form):
    comment = forms.CharField(
        label=_("What should change"), widget=forms.Textarea(attrs={"rows": 3}), max_length=MAX_NOTE
    )


class TransferForm(Form):
    organisation = forms.ModelChoiceField(label=_("Organisation"), queryset=None)
    reason = forms.CharField(label=_("Why"), widget=forms.Textarea(attrs={"rows": 2}), max_length=MAX_NOTE)

    def __init__(self, *args, feedback, **kwargs):
        super().__init__(*args, **kwargs)
        organisations = Organisation.objects.filter(is_active=True).select_related("unit")
        if feedback.handler_organisation_id:
            organisations = organisations.exclude(pk=feedback.handler_organisation_id)
        self.fields["organisation"].queryset = organisations
        self.fields["organisation"].label_from_instance = lambda o: f"{o.name} ({o.unit.name})"


class NoteForm(Form):
    text = forms.CharField(
        label=_("Internal note"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=MAX_NOTE,
        help_text=_("Seen by colleagues only, never by the citizen."),
    )


class StaffFeedbackForm(Form):
    """Feedback received by phone, letter, at a meeting, at the office or by e-mail, typed in by staff."""

    channel = forms.ChoiceField(label=_("Received by"), choices=[(c.value, c.label) for c in STAFF_CHANNELS])
    unit = forms.ModelChoiceField(label=_("Commune or ward where it happens"), queryset=None)
    topic = forms.ModelChoiceField(label=_("Topic"), queryset=Topic.objects.filter(is_active=True))
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    text = forms.CharField(label=_("Content"), widget=forms.Textarea(attrs={"rows": 8}), max_length=MAX_TEXT)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    latitude = forms.FloatField(label=_("Latitude"), required=False, min_value=-90, max_value=90)
    longitude = forms.FloatField(label=_("Longitude"), required=False, min_value=-180, max_value=180)
    name = forms.CharField(label=_("Citizen's name"), max_length=100, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    consent_publish = forms.BooleanField(label=_("Agrees to publication of the answer (without name)"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units_for_user(user, Capability.HANDLE_FEEDBACK).current()
        self.fields["unit"].label_from_instance = _unit_label

    def to_data(self) -> FeedbackData:
        d = self.cleaned_data
        return FeedbackData(
            topic=d["topic"],
            unit=d["unit"],
            text=d["text"],
            title=d["title"],
            address=d["address"],
            latitude=d["latitude"],
            longitude=d["longitude"],
            name=d["name"],
            phone=d["phone"],
            email=d["email"],
            consent_publish=d["consent_publish"],
        )
