"""Base classes for every form in the project: text that XML cannot carry is refused on its field."""

from __future__ import annotations

from django import forms

from nguon.core.validators import validate_xml_text


class XmlSafeFormMixin:
    """Add the XML-text validator to every text field, so no form lets a control character in."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.CharField) and validate_xml_text not in field.validators:
                field.validators.append(validate_xml_text)


class Form(XmlSafeFormMixin, forms.Form):
    pass


class ModelForm(XmlSafeFormMixin, forms.ModelForm):
    pass
