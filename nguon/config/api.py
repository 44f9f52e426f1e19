"""The Ninja API root: one router per app under /api/v1/, errors mapped here once."""

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import SessionAuth

from nguon.core.errors import DomainError


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


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    fields: dict[str, list[str]] = {}
    for item in exc.errors:
        location = [str(part) for part in item.get("loc", [])]
        # Ninja's loc is [source, parameter name, *field path]: keep the field path only. A field may itself be
        # called "body", so only the leading pair is dropped.
        if location and location[0] in ("body", "query", "path", "header", "cookie", "form", "file"):
            location = location[2:] if len(location) > 2 else location[1:]
        fields.setdefault(".".join(location) or "_", []).append(item.get("msg", ""))
    return _error(request, "invalid", _("The request is not valid."), 422, fields)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return _error(request, "unauthenticated", _("Sign in first."), 401)


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return _error(request, "http_error", str(exc), exc.status_code)


from nguon.accounts.api import router as accounts_router  # noqa: E402
from nguon.alerts.api import router as alerts_router  # noqa: E402
from nguon.audit.api import router as audit_router  # noqa: E402
from nguon.broadcast.api import router as broadcast_router  # noqa: E402
from nguon.content.api import router as content_router  # noqa: E402
from nguon.units.api import router as units_router  # noqa: E402

api.add_router("/v1/units", units_router)
api.add_router("/v1/accounts", accounts_router)
api.add_router("/v1/audit", audit_router)
api.add_router("/v1/bulletins", content_router)
api.add_router("/v1/devices", broadcast_router)
api.add_router("/v1/alerts", alerts_router)
