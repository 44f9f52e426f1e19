"""The back-office form to issue a partner API key."""

from django import forms
from django.utils.translation import gettext_lazy as _

from nguon.core.forms import Form
from nguon.units.models import Unit


class IssueKeyForm(Form):
    name = forms.CharField(label=_("Partner"), max_length=100, help_text=_("The app or organisation using the key."))
    contact = forms.CharField(
        label=_("Contact"),
        max_length=200,
        required=False,
        help_text=_("Who to call about it: a name, phone or e-mail."),
    )
    unit = forms.ModelChoiceField(
        label=_("Limited to"),
        queryset=Unit.objects.none(),
        required=False,
        empty_label=_("Anywhere in the province"),
        help_text=_("Requests sent with the key must be about this unit or a unit below it."),
    )
    can_submit = forms.BooleanField(label=_("May submit requests"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = Unit.objects.current().order_by("path")
