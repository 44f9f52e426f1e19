from django import forms
from django.utils.translation import gettext_lazy as _

from nguon.accounts.access import units_for_user
from nguon.accounts.roles import Capability
from nguon.core.forms import Form


class LexiconForm(Form):
    term = forms.CharField(label=_("Written"), max_length=100)
    spoken = forms.CharField(label=_("Spoken"), max_length=300)
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=None, required=False, empty_label=_("Everywhere"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units_for_user(user, Capability.MANAGE_LEXICON).current()
