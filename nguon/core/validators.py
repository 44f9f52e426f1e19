"""Validators every app's input goes through."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from nguon.lib.xmltext import describe, first_forbidden

XML_CHAR_MESSAGE = _(
    "This text contains a control character that cannot be stored (%(char)s at position %(position)s): "
    "remove it and try again."
)


def validate_xml_text(value) -> None:
    """Refuse text that XML cannot carry (it would break every CAP document and feed that includes it)."""
    if not isinstance(value, str):
        return
    found = first_forbidden(value)
    if found is not None:
        position, char = found
        raise ValidationError(XML_CHAR_MESSAGE, code="xml_char", params={"char": describe(char), "position": position})


def xml_text_problem(value: str) -> str | None:
    """The translated message for text XML cannot carry, or None (for actions and importers)."""
    try:
        validate_xml_text(value)
    except ValidationError as exc:
        return exc.messages[0]
    return None
