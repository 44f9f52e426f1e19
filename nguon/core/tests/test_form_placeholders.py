"""Django's "---------" never reaches a person: the base forms put words in the user's language instead."""

from django import forms
from django.utils import translation

from nguon.core.forms import Form
from nguon.units.models import Unit


class Sample(Form):
    required_unit = forms.ModelChoiceField(queryset=Unit.objects.none())
    optional_unit = forms.ModelChoiceField(queryset=Unit.objects.none(), required=False)
    kind = forms.ChoiceField(choices=[("", "---------"), ("a", "A")])
    own = forms.ModelChoiceField(queryset=Unit.objects.none(), required=False, empty_label="Mọi nơi")


def test_dash_placeholders_become_vietnamese_words():
    with translation.override("vi"):
        html = str(Sample())
    assert "---------" not in html
    assert "— Chọn —" in html and "— Không chọn —" in html and "Mọi nơi" in html
