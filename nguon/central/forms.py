"""Forms of the central link's page."""

from django import forms
from django.utils.translation import gettext_lazy as _

from nguon.core.forms import Form


class PairingCodeForm(Form):
    name = forms.CharField(
        label=_("Name of the child instance"),
        max_length=200,
        help_text=_("For example: Sở VHTTDL tỉnh Đồng Nai."),
    )


class PairForm(Form):
    base_url = forms.URLField(
        label=_("Address of the parent instance"),
        max_length=500,
        assume_scheme="https",
        help_text=_("The address its administrator gave you, for example https://nguon.example.gov.vn."),
    )
    code = forms.CharField(label=_("Pairing code"), max_length=40, help_text=_("Twelve letters and digits."))
