from typing import Any

from ninja import Schema as NinjaSchema
from pydantic import ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from nguon.lib.xmltext import describe, first_forbidden


def _check_text(value: Any) -> None:
    if isinstance(value, str):
        found = first_forbidden(value)
        if found is not None:
            position, char = found
            # The message is rendered in the user's language by the API's error handler (see config/api.py).
            raise PydanticCustomError(
                "xml_char",
                "control character {char} at position {position} cannot be stored",
                {"char": describe(char), "position": position},
            )
    elif isinstance(value, dict):
        for item in value.values():
            _check_text(item)
    elif isinstance(value, list | tuple | set):
        for item in value:
            _check_text(item)


class Schema(NinjaSchema):
    """The base of every API schema: text that XML cannot carry is refused with a field error (422)."""

    @field_validator("*", mode="after")
    @classmethod
    def _xml_safe(cls, value, info: ValidationInfo):
        # Ninja validates responses too (with "response_status" in the context): only input is refused here.
        if not (info.context and "response_status" in info.context):
            _check_text(value)
        return value


class ErrorBody(Schema):
    code: str
    message: str
    fields: dict[str, list[str]] | None = None


class ErrorOut(Schema):
    error: ErrorBody


# The error responses every protected endpoint declares.
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
