"""The Ninja API root: one router per app under /api/v1/, errors mapped here once."""

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import SessionAuth

from nguon.core.errors import DomainError
from nguon.core.validators import XML_CHAR_MESSAGE


class StaffSession(SessionAuth):
    """The back office's session (CSRF-checked). Two-factor is enforced by middleware before this runs."""

    def authenticate(self, request: HttpRequest, key):
        user = super().authenticate(request, key)
        if user is not None and user.is_active:
            return user
        return None


api = NinjaAPI(
    title="Nguồn API",
    version="1",
    description="Hệ thống thông tin nguồn cấp tỉnh — Provincial source information system.",
    auth=StaffSession(),
    docs_url="/docs",
    openapi_url="/openapi.json",
    urls_namespace="api",
)


def _error(request, code: str, message: str, status: int, fields=None):
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return api.create_response(request, {"error": body}, status=status)


@api.exception_handler(DomainError)
def _domain_error(request, exc: DomainError):
    return api.create_response(request, exc.as_dict(), status=exc.status)


# Pydantic's messages are English: the common ones in the user's language; others as Pydantic wrote them.
_FIELD_MESSAGES = {
    "missing": gettext_lazy("This field is required."),
    "string_type": gettext_lazy("Enter text."),
    "string_unicode": gettext_lazy("This text is not valid Unicode."),
    "string_too_short": gettext_lazy("Enter at least %(min_length)s characters."),
    "string_too_long": gettext_lazy("Enter at most %(max_length)s characters."),
    "int_type": gettext_lazy("Enter a whole number."),
    "int_parsing": gettext_lazy("Enter a whole number."),
    "float_type": gettext_lazy("Enter a number."),
    "float_parsing": gettext_lazy("Enter a number."),
    "bool_type": gettext_lazy("Enter true or false."),
    "bool_parsing": gettext_lazy("Enter true or false."),
    "datetime_type": gettext_lazy("Enter a date and time (ISO 8601, with a time zone)."),
    "datetime_parsing": gettext_lazy("Enter a date and time (ISO 8601, with a time zone)."),
    "datetime_from_date_parsing": gettext_lazy("Enter a date and time (ISO 8601, with a time zone)."),
    "date_type": gettext_lazy("Enter a date (YYYY-MM-DD)."),
    "date_parsing": gettext_lazy("Enter a date (YYYY-MM-DD)."),
    "date_from_datetime_parsing": gettext_lazy("Enter a date (YYYY-MM-DD)."),
    "enum": gettext_lazy("Choose one of: %(expected)s."),
    "literal_error": gettext_lazy("Choose one of: %(expected)s."),
    "list_type": gettext_lazy("Enter a list."),
    "dict_type": gettext_lazy("Enter an object."),
    "model_type": gettext_lazy("Enter an object."),
    "json_invalid": gettext_lazy("The body is not valid JSON."),
    "greater_than_equal": gettext_lazy("Enter a value greater than or equal to %(ge)s."),
    "less_than_equal": gettext_lazy("Enter a value less than or equal to %(le)s."),
    "greater_than": gettext_lazy("Enter a value greater than %(gt)s."),
    "less_than": gettext_lazy("Enter a value less than %(lt)s."),
    "extra_forbidden": gettext_lazy("This field is not allowed here."),
    "xml_char": XML_CHAR_MESSAGE,
}


def _field_message(item: dict) -> str:
    template = _FIELD_MESSAGES.get(item.get("type", ""))
    if template is None:
        return str(item.get("msg", ""))
    try:
        return str(template) % item.get("ctx", {}) if "%(" in str(template) else str(template)
    except (KeyError, TypeError, ValueError):
        return str(item.get("msg", ""))


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    fields: dict[str, list[str]] = {}
    for item in exc.errors:
        location = [str(part) for part in item.get("loc", [])]
        # Ninja's loc is [source, parameter name, *field path]: keep the field path only. A field may itself be
        # called "body", so only the leading pair is dropped.
        if location and location[0] in ("body", "query", "path", "header", "cookie", "form", "file"):
            location = location[2:] if len(location) > 2 else location[1:]
        fields.setdefault(".".join(location) or "_", []).append(_field_message(item))
    return _error(request, "invalid", _("The request is not valid."), 422, fields)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return _error(request, "unauthenticated", _("Sign in first."), 401)


@api.exception_handler(RequestDataTooBig)
def _too_big(request, exc):
    # Django's own limit (DATA_UPLOAD_MAX_MEMORY_SIZE) would answer an HTML 400; the API answers its JSON shape.
    return _error(request, "too_large", _("The request is too large."), 413)


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return _error(request, "http_error", str(exc), exc.status_code)


from nguon.accounts.api import router as accounts_router  # noqa: E402
from nguon.alerts.api import router as alerts_router  # noqa: E402
from nguon.audit.api import router as audit_router  # noqa: E402
from nguon.broadcast.api import router as broadcast_router  # noqa: E402
from nguon.central.api import router as central_router  # noqa: E402
from nguon.content.api import router as content_router  # noqa: E402
from nguon.feedback.api import router as feedback_router  # noqa: E402
from nguon.feedback.figures_api import router as feedback_figures_router  # noqa: E402
from nguon.notifications.api import router as notifications_router  # noqa: E402
from nguon.reports.api import router as reports_router  # noqa: E402
from nguon.units.api import router as units_router  # noqa: E402

api.add_router("/v1/units", units_router)
api.add_router("/v1/accounts", accounts_router)
api.add_router("/v1/audit", audit_router)
api.add_router("/v1/bulletins", content_router)
api.add_router("/v1/devices", broadcast_router)
api.add_router("/v1/alerts", alerts_router)
api.add_router("/v1/notifications", notifications_router)
# Figures first: "/v1/feedback/figures" must not be taken for a feedback id by the staff router.
api.add_router("/v1/feedback/figures", feedback_figures_router)
api.add_router("/v1/feedback", feedback_router)
api.add_router("/v1/reports", reports_router)
api.add_router("/v1/central", central_router)
