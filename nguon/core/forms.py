"""Base classes for every form in the project.

Text that XML cannot carry is refused on its field, and Django's "---------" placeholder for "nothing chosen" is
replaced by words in the user's language.
"""

from __future__ import annotations

from django import forms
from django.db.models.fields import BLANK_CHOICE_DASH
from django.utils.translation import gettext_lazy as _

from nguon.core.validators import validate_xml_text

DASH = BLANK_CHOICE_DASH[0][1]


class XmlSafeFormMixin:
    """Add the XML-text validator to every text field, so no form lets a control character in."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.CharField) and validate_xml_text not in field.validators:
                field.validators.append(validate_xml_text)
            if isinstance(field, forms.ModelChoiceField):
                if field.empty_label == DASH:
                    field.empty_label = _("— Choose —") if field.required else _("— None —")
            elif isinstance(field, forms.ChoiceField) and not callable(field.choices):
                choices = list(field.choices)
                if any(value == "" and label == DASH for value, label in choices):
                    field.choices = [(v, _("— Choose —") if (v == "" and lbl == DASH) else lbl) for v, lbl in choices]


class Form(XmlSafeFormMixin, forms.Form):
    pass


class ModelForm(XmlSafeFormMixin, forms.ModelForm):
    pass
