"""Open311 GeoReport v2 endpoints under /open311/ (see docs/open311.md).

Every answer is the spec's document or its error list, in the format the path ends with; nothing here answers
with an HTML page or a 500. Submitting needs a partner key; reading needs none and shows no personal data.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from functools import wraps

from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from nguon.feedback.models import Topic
from nguon.feedback.open311 import documents
from nguon.feedback.open311.render import errors, respond
from nguon.feedback.open311.submission import ApiError, submit

TOKEN_SALT = "nguon.feedback.open311.token"
MAX_RESULTS = 1_000  # the spec's default limit
SPAN = timedelta(days=90)  # the spec's default and largest date range
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def request_token(feedback) -> str:
    """A token that resolves to the request's number and nothing else (not the citizen's tracking token)."""
    from django.core import signing

    return signing.dumps(feedback.pk, salt=TOKEN_SALT, compress=True)


def _token_target(token: str):
    from django.core import signing

    try:
        pk = signing.loads(token, salt=TOKEN_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return documents.request_queryset().filter(pk=pk).first() if isinstance(pk, int) else None


def endpoint(*methods: str):
    """Check the method and jurisdiction_id, and turn every refusal into the spec's error list."""

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, fmt: str, **kwargs):
            allowed = (*methods, "HEAD") if "GET" in methods else methods
            if request.method not in allowed:
                response = errors(
                    fmt, 405, _("Method %(method)s is not allowed here.") % {"method": request.method[:10]}
                )
                response["Allow"] = ", ".join(allowed)
                return response
            try:
                if request.method == "POST":
                    content_type = request.content_type or ""
                    if content_type not in FORM_TYPES:
                        raise ApiError(400, _("Send the request form-encoded (application/x-www-form-urlencoded)."))
                    params = request.POST
                else:
                    params = request.GET
                # A NUL byte is never valid text, and PostgreSQL refuses it even in a lookup.
                pairs = [*((n, v) for n, values in params.lists() for v in values), *kwargs.items()]
                bad = next((name for name, value in pairs if "\x00" in value), None)
                if bad is not None:
                    raise ApiError(400, _("%(name)s contains a character that is not allowed.") % {"name": bad[:40]})
                _check_jurisdiction(params)
                return view(request, fmt, params, **kwargs)
            except ApiError as exc:
                response = errors(fmt, exc.status, exc.messages)
                for name, value in exc.headers.items():
                    response[name] = value
                return response
            except RequestDataTooBig:
                return errors(fmt, 413, _("The request is too large."))
            except (TooManyFieldsSent, MultiPartParserError, SuspiciousOperation, BadRequest, UnicodeDecodeError):
                return errors(fmt, 400, _("The request could not be read."))

        return wrapper

    return decorate


def _check_jurisdiction(params) -> None:
    given = (params.get("jurisdiction_id") or "").strip()
    # One jurisdiction is served, so the parameter may be left out (the spec allows it).
    if given and given.lower() != settings.OPEN311_JURISDICTION.lower():
        raise ApiError(404, _("jurisdiction_id %(id)s was not found; this endpoint serves %(ours)s.")
                       % {"id": given[:100], "ours": settings.OPEN311_JURISDICTION})  # fmt: skip


@endpoint("GET")
def discovery(request, fmt, params):
    return respond(fmt, "discovery", documents.discovery(request))


@endpoint("GET")
def services(request, fmt, params):
    topics = Topic.objects.filter(is_active=True)
    return respond(fmt, "services", [documents.service(topic) for topic in topics])


@endpoint("GET")
def service_definition(request, fmt, params, service_code: str):
    topic = Topic.objects.filter(code=service_code[:40], is_active=True).first()
    if topic is None:
        raise ApiError(404, _("service_code %(code)s was not found.") % {"code": service_code[:40]})
    return respond(fmt, "service_definition", documents.definition(topic))


@endpoint("GET", "POST")
def service_requests(request, fmt, params):
    if request.method == "POST":
        feedback, notice = submit(request, params)
        document = [
            {
                "service_request_id": feedback.number,
                # Also a token, for clients that track by token; it resolves to the same number.
                "token": request_token(feedback),
                "service_notice": notice,
                "account_id": (params.get("account_id") or "").strip()[:100] or None,
            }
        ]
        return respond(fmt, "service_requests", document)
    items = list(_filtered(params)[:MAX_RESULTS])
    return respond(fmt, "service_requests", documents.service_requests(items))


def _split(params, name: str) -> list[str]:
    return [part.strip() for part in (params.get(name) or "").split(",") if part.strip()][:MAX_RESULTS]


def _moment(params, name: str):
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        moment = parse_datetime(raw.replace(" ", "+"))  # a "+" left unencoded in a query string reads as a space
    except ValueError:
        moment = None
    if moment is not None and timezone.is_aware(moment):
        try:
            moment = moment.astimezone(UTC)
        except OverflowError:
            moment = None
    # Years far outside the service's life are refused, so that the 90-day arithmetic below cannot overflow.
    if moment is None or timezone.is_naive(moment) or not 1900 <= moment.year <= 9000:
        raise ApiError(400, _("%(name)s must be a W3C date-time with its time zone, e.g. 2026-01-01T00:00:00Z.")
                       % {"name": name})  # fmt: skip
    return moment


def _filtered(params):
    queryset = documents.request_queryset().order_by("-received_at", "-pk")
    numbers = _split(params, "service_request_id")
    if numbers:  # "This overrides all other arguments."
        return queryset.filter(number__in=numbers)
    start, end = _moment(params, "start_date"), _moment(params, "end_date")
    if start and end and end - start > SPAN:
        raise ApiError(400, _("start_date and end_date may not span more than 90 days."))
    if start and end and end < start:
        raise ApiError(400, _("end_date is before start_date."))
    if start is None and end is None:
        end = timezone.now()
    start = start or end - SPAN
    end = end or start + SPAN
    queryset = queryset.filter(received_at__gte=start, received_at__lte=end)
    codes = _split(params, "service_code")
    if codes:
        queryset = queryset.filter(topic__code__in=codes)
    statuses = {s.lower() for s in _split(params, "status")}
    if statuses - {"open", "closed"}:
        raise ApiError(400, _("status must be open or closed (comma-separated for both)."))
    if statuses == {"open"}:
        queryset = queryset.exclude(status__in=documents.CLOSED)
    elif statuses == {"closed"}:
        queryset = queryset.filter(status__in=documents.CLOSED)
    return queryset


@endpoint("GET")
def service_request(request, fmt, params, service_request_id: str):
    feedback = documents.request_queryset().filter(number=service_request_id[:20]).first()
    if feedback is None:
        raise ApiError(404, _("service_request_id %(id)s was not found.") % {"id": service_request_id[:40]})
    return respond(fmt, "service_requests", documents.service_requests([feedback]))


@endpoint("GET")
def token(request, fmt, params, token: str):
    feedback = _token_target(token)
    if feedback is None:
        raise ApiError(404, _("The token was not found."))
    return respond(fmt, "service_requests", [{"service_request_id": feedback.number, "token": token}])


@csrf_exempt
def not_found(request, path: str = ""):
    fmt = "json" if path.endswith(".json") else "xml"
    return errors(fmt, 404, _("There is no such GeoReport v2 resource; see discovery.xml."))
