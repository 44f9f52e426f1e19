"""The device protocol in plain Django: a Ninja API at /device/v1/ (docs at /device/v1/docs).

Under ASGI the gateway (`nguon.broadcast.gateway`) answers the hot paths (manifest, media, events, reports) before
Django; these views answer them under WSGI, the test server, and whenever the gateway passes a request on.
Both use the same helpers (protocol, device_auth, events, reports, device_media), so they answer alike.
"""

from __future__ import annotations

import functools
import time
from typing import Annotated, Any

import orjson
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import URLPattern, path, re_path
from django.views.decorators.csrf import csrf_exempt
from ninja import Field, NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from pydantic import BeforeValidator

from nguon.broadcast import device_media, events, monitoring, reports
from nguon.broadcast.actions import do_enrol
from nguon.broadcast.audience import device_memberships
from nguon.broadcast.device_auth import DeviceBearer
from nguon.broadcast.keys import signer
from nguon.broadcast.manifest import PROTOCOL, compile_for
from nguon.broadcast.models import CompiledManifest, Device, PushEvent
from nguon.broadcast.protocol import (
    MAX_BATCH_BYTES,
    SHA256,
    Unsatisfiable,
    error_body,
    error_status,
    etag_matches,
    iso_ms,
    manifest_hashes,
    manifest_headers,
    media_headers,
    now_utc,
    parse_range,
    server_time,
)
from nguon.core.errors import DomainError
from nguon.core.schemas import Schema

STREAM_POLL_SECONDS = 1.0
STREAM_KEEPALIVE_SECONDS = 25.0
# A thread holds each stream here; the device reconnects (with Last-Event-ID) when the server closes it.
STREAM_MAX_SECONDS = 300.0
ENROL_PER_MINUTE = 10  # per client address
HARDWARE_MAX = 100  # characters kept of each hardware text

device_api = NinjaAPI(
    title="Nguồn device API",
    version="1",
    description="Giao thức thiết bị v1 — Device protocol v1 (docs/device-protocol.md).",
    auth=DeviceBearer(),
    docs_url="/docs",
    openapi_url="/openapi.json",
    urls_namespace="device",
)
enrol_limiter = reports.RateLimiter(ENROL_PER_MINUTE)
report_limiter = reports.RateLimiter(reports.REPORTS_PER_MINUTE)


class ErrorDetail(Schema):
    code: str
    message: str


class ErrorOut(Schema):
    error: ErrorDetail


def _cut(value):
    """Longer hardware texts are cut, not refused (protocol §1): a long firmware string must not block enrolment."""
    return value[:HARDWARE_MAX] if isinstance(value, str) else value


HardwareText = Annotated[str, BeforeValidator(_cut)]


class HardwareIn(Schema):
    model: HardwareText = ""
    serial: HardwareText = ""
    firmware: HardwareText = ""


class EnrolIn(Schema):
    code: str = Field(..., max_length=40)
    hardware: HardwareIn | None = None


class DeviceOut(Schema):
    code: str
    name: str
    kind: str
    unit: str
    units: list[str] = Field(..., description="The device's unit and the units above it, root first (§4.2)")
    groups: list[int] = Field(..., description="The ids of the device groups it belongs to (§4.2)")


class EnrolOut(Schema):
    device: DeviceOut
    token: str
    public_key: str
    protocol: int
    server_time: str


class RejectedOut(Schema):
    seq: int
    reason: str


class ReportsOut(Schema):
    stored: int
    duplicates: int
    rejected: list[RejectedOut]
    server_time: str


# The batch is parsed by `reports.parse` (shared with the gateway), so it is described here for the docs only.
_RECORD_SCHEMA = {
    "type": "object",
    "required": ["seq", "type"],
    "properties": {
        "seq": {"type": "integer", "minimum": 1},
        "type": {"type": "string", "enum": ["heartbeat", "play", "log", "fault", "alert"]},
        "at": {"type": "string", "format": "date-time"},
        "alert": {"type": "integer", "description": "type alert: the alert id from the event"},
        "state": {
            "type": "string",
            "enum": ["acknowledged", "played", "displayed", "failed"],
            "description": "type alert: what the device did with it",
        },
    },
    "additionalProperties": True,
}
_REPORTS_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["records"],
                "properties": {"records": {"type": "array", "maxItems": reports.MAX_RECORDS, "items": _RECORD_SCHEMA}},
            }
        }
    },
}
_BINARY = {
    "description": "The file (or the requested range)",
    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
}


def _stamp(response: HttpResponse) -> HttpResponse:
    response["X-Server-Time"] = server_time()
    return response


def _error(code: str, *, retry_after: int | None = None) -> HttpResponse:
    response = HttpResponse(error_body(code), status=error_status(code), content_type="application/json")
    if code == "unauthenticated":
        response["WWW-Authenticate"] = "Bearer"
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return _stamp(response)


def _json(data: Any, status: int = 200) -> HttpResponse:
    return _stamp(HttpResponse(orjson.dumps(data), status=status, content_type="application/json"))


@device_api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return _error("unauthenticated")


@device_api.exception_handler(ValidationError)
def _invalid(request, exc):
    return _error("invalid_request")


@device_api.exception_handler(DomainError)
def _domain_error(request, exc: DomainError):
    return _error(exc.code if exc.code == "invalid_code" else "invalid_request")


@device_api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return _error("not_found" if exc.status_code == 404 else "invalid_request")


def _client(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR") or "?"


@device_api.post("/enrol", auth=None, response={200: EnrolOut, 400: ErrorOut, 429: ErrorOut}, tags=["device"])
def enrol(request, payload: EnrolIn):
    """Exchange a one-time enrolment code for the device's token and the server's public key."""
    wait = enrol_limiter.hit(_client(request))
    if wait:
        return _error("rate_limited", retry_after=wait)
    hardware = payload.hardware.model_dump() if payload.hardware else None
    device, token = do_enrol(payload.code, hardware=hardware)
    return _json(
        {
            "device": {
                "code": device.code,
                "name": device.name,
                "kind": device.kind,
                "unit": device.unit.code,
                **device_memberships(device),
            },
            "token": token,
            "public_key": signer().public_key_b64,
            "protocol": PROTOCOL,
            "server_time": iso_ms(now_utc()),
        }
    )


def current_manifest(device: Device) -> tuple[str, int, bytes, str]:
    """(etag, version, body, signature) of the device's manifest, compiled now if the worker has not yet."""
    row = CompiledManifest.objects.filter(device_id=device.pk).values_list("etag", "version", "body", "signature")
    found = row.first()
    if found is None:
        compiled, _changed = compile_for(Device.objects.select_related("unit").get(pk=device.pk))
        found = (compiled.etag, compiled.version, compiled.body, compiled.signature)
    etag, version, body, signature = found
    return etag, version, bytes(body), signature


@device_api.get(
    "/manifest",
    response={200: dict[str, Any], 304: None, 401: ErrorOut},
    tags=["device"],
    openapi_extra={
        "parameters": [{"in": "header", "name": "If-None-Match", "required": False, "schema": {"type": "string"}}]
    },
)
def manifest(request):
    """The device's signed manifest; `304` when If-None-Match names the current ETag."""
    etag, version, body, signature = current_manifest(request.auth)
    if etag_matches(request.headers.get("If-None-Match"), etag):
        response = HttpResponse(status=304)
        response["ETag"] = etag
        return _stamp(response)
    response = HttpResponse(body, content_type="application/json")
    for name, value in manifest_headers(etag=etag, version=version, signature=signature):
        response[name] = value
    return _stamp(response)


def _file_chunks(media: device_media.MediaFile, first: int, length: int, chunk: int = 64 * 1024):
    with media.open() as handle:
        handle.seek(first)
        while length > 0:
            data = handle.read(min(chunk, length))
            if not data:
                return
            length -= len(data)
            yield data


def _live_events(device_id: int) -> list[events.DeviceEvent]:
    """Unexpired push events that may name media (one query; the outbox holds few live ones)."""
    rows = PushEvent.objects.filter(expires_at__gt=now_utc()).exclude(type__in=events.INTERNAL_TYPES)
    return [e for e in map(events.DeviceEvent.from_row, rows.values(*events.FIELDS)) if e.is_for(device_id)]


@device_api.api_operation(
    ["GET", "HEAD"],
    "/media/{sha256}",
    response={200: None, 206: None, 304: None, 401: ErrorOut, 404: ErrorOut, 416: ErrorOut},
    tags=["device"],
    openapi_extra={
        "parameters": [
            {"in": "header", "name": "Range", "required": False, "schema": {"type": "string"}},
            {"in": "header", "name": "If-None-Match", "required": False, "schema": {"type": "string"}},
        ],
        "responses": {200: _BINARY, 206: _BINARY, 304: {"description": "Not Modified: If-None-Match named the hash"}},
    },
)
def media(request, sha256: str):
    """A media file by its (lowercase) SHA-256, if this device's manifest (or a live push event) names it; Range
    supported. HEAD answers the same headers without the body."""
    device = request.auth
    if not SHA256.fullmatch(sha256):
        return _error("not_found")
    _etag, _version, body, _signature = current_manifest(device)
    now = now_utc()
    permitted = device_media.allowed(
        sha256, manifest_hashes=manifest_hashes(body), events=_live_events(device.pk), device_id=device.pk, now=now
    )
    found = device_media.find(sha256) if permitted else None
    if found is None:
        return _error("not_found")
    if etag_matches(request.headers.get("If-None-Match"), f'"{sha256}"'):
        response = HttpResponse(status=304)
        response["ETag"] = f'"{sha256}"'
        return _stamp(response)
    if found.accel_redirect:
        # Authorised: nginx sends the file from disk, Range and HEAD included (deploy/nginx.conf).
        response = HttpResponse(status=200)
        for name, value in media_headers(sha256, found.mime_type):
            if name != "Accept-Ranges":  # nginx adds its own
                response[name] = value
        response["X-Accel-Redirect"] = found.accel_redirect
        return _stamp(response)
    try:
        wanted = parse_range(request.headers.get("Range"), found.size)
    except Unsatisfiable:
        response = _error("range_not_satisfiable")
        response["Content-Range"] = f"bytes */{found.size}"
        return response
    first, last = wanted or (0, found.size - 1)
    length = last - first + 1
    status = 206 if wanted else 200
    if request.method == "HEAD":
        response = HttpResponse(status=status)
    else:
        response = StreamingHttpResponse(_file_chunks(found, first, length), status=status)
    for name, value in media_headers(sha256, found.mime_type):
        response[name] = value
    response["Content-Length"] = str(length)
    if wanted:
        response["Content-Range"] = f"bytes {first}-{last}/{found.size}"
    return _stamp(response)


def _sticky_replay(device: Device, floor: int) -> list[events.DeviceEvent]:
    """Current alerts (and their cancels) sent to this device after `floor` that it has not acknowledged: they are
    replayed on every connection, with or without Last-Event-ID (protocol §4.1), as the gateway does."""
    now = now_utc()
    found = [e for e in events.unexpired_sticky(now) if e.id > floor and e.is_for(device.pk)]
    keys = sorted({e.ack_key for e in found if e.ack_key is not None})
    acked = {pair for loader in events.ACKNOWLEDGED for pair in loader(device.pk, keys)} if keys else set()
    return [e for e in found if (e.ack_key, device.pk) not in acked]


def _missed(device: Device, given: int | None, latest: int) -> list[events.DeviceEvent]:
    """What the gateway's hub replays (`Hub.missed`) to a device connecting with Last-Event-ID `given` (None: none),
    read from the outbox up to event `latest`: its unacknowledged current alerts after `given`, and with `given` the
    unexpired events after it among the last events.REPLAY_WINDOW, oldest first."""
    found = {e.id: e for e in _sticky_replay(device, given or 0) if e.id <= latest}
    if given is not None and given < latest:
        now = now_utc()
        rows = (
            PushEvent.objects.filter(id__gt=given, id__lte=latest)
            .exclude(type__in=events.INTERNAL_TYPES)
            .order_by("-id")
            .values(*events.FIELDS)[: events.REPLAY_WINDOW]
        )
        for event in map(events.DeviceEvent.from_row, rows):
            if not event.sticky and event.is_for(device.pk) and not event.expired(now):
                found[event.id] = event
    return [found[i] for i in sorted(found)]


def _stream(device: Device, last_id: int, replay: list[events.DeviceEvent] = ()):
    """Poll the outbox and yield this device's event frames until the stream has lasted STREAM_MAX_SECONDS."""
    yield events.CONNECTED
    for event in replay:
        yield event.frame(device.code)
    started = last_write = time.monotonic()
    while time.monotonic() - started < STREAM_MAX_SECONDS:
        batch = events.after(last_id)
        now = now_utc()
        for event in batch:
            last_id = event.id
            if event.type == "revoke" and event.is_for(device.pk):
                return  # the token is revoked: end the stream, the reconnect gets 401
            if event.internal or not event.is_for(device.pk) or event.expired(now):
                continue
            last_write = time.monotonic()
            yield event.frame(device.code)
        if batch:
            continue
        if time.monotonic() - last_write >= STREAM_KEEPALIVE_SECONDS:
            last_write = time.monotonic()
            yield events.KEEPALIVE
        time.sleep(STREAM_POLL_SECONDS)


@device_api.get(
    "/events",
    tags=["device"],
    response={200: None, 401: ErrorOut},
    openapi_extra={
        "parameters": [{"in": "header", "name": "Last-Event-ID", "required": False, "schema": {"type": "string"}}],
        "responses": {200: {"description": "Server-Sent Events", "content": {"text/event-stream": {}}}},
    },
)
def event_stream(request):
    """Server-Sent Events: signed push events for this device, and a keep-alive comment every 25 s."""
    # The replay is what the gateway's hub would send (current alerts not acknowledged, and with Last-Event-ID
    # what came after it), up to the newest event, read now rather than when the stream first runs; the outbox
    # loop goes on from there, so nothing after this answer is missed or sent twice.
    given = events.parse_last_event_id(request.headers.get("Last-Event-ID"))
    last_id = events.latest_id()
    replay = _missed(request.auth, given, last_id)
    monitoring.mark_online([request.auth.pk], now_utc(), "stream")  # online from the moment its stream opens
    response = StreamingHttpResponse(_stream(request.auth, last_id, replay), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass events on at once
    return _stamp(response)


class PolledEventOut(Schema):
    id: int
    type: str = Field(..., description="`alert` or `alert_cancel`")
    data: str = Field(..., description="The signed payload, exactly as the event stream's `data:` line carries it")


class AlertsOut(Schema):
    events: list[PolledEventOut]


@device_api.get("/alerts", response={200: AlertsOut, 401: ErrorOut}, tags=["device"])
def alerts(request):
    """Current alerts for a device that polls (protocol §4.3): the signed alert events its event stream would replay
    now (not those it acknowledged), oldest first. Revision 1.2."""
    device = request.auth
    found = _sticky_replay(device, 0)
    response = _stamp(HttpResponse(events.poll_answer(found, device.code), content_type="application/json"))
    response["Cache-Control"] = "no-store"
    return response


@device_api.post(
    "/reports",
    response={200: ReportsOut, 400: ErrorOut, 401: ErrorOut, 413: ErrorOut, 429: ErrorOut, 503: ErrorOut},
    tags=["device"],
    openapi_extra={"requestBody": _REPORTS_BODY},
)
def post_reports(request):
    """A batch of reports; records already stored (same seq) are counted as duplicates, not stored again."""
    device = request.auth
    wait = report_limiter.hit(device.pk)
    if wait:
        return _error("rate_limited", retry_after=wait)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BATCH_BYTES:
        return _error("too_large")
    try:
        body = request.body
        batch = reports.parse(body, device_id=device.pk, now=now_utc())
    except RequestDataTooBig:
        return _error("too_large")
    except reports.BatchError as refusal:
        return _error(refusal.code)
    reports.ingest([batch])
    if batch.device_gone:
        return _error("unauthenticated")
    return _json(batch.answer())


# Ninja answers a method it has no operation for with Django's HTML 405, and Django's URL resolver an unknown path
# with an HTML 404: a device must get the protocol's JSON error shape (and X-Server-Time) for both (§6).


def _protocol_errors(view):
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith("application/json"):
            allowed = response.get("Allow", "")
            response = _error("method_not_allowed")
            response["Allow"] = allowed
        return response

    wrapped.csrf_exempt = True
    return wrapped


@csrf_exempt
def unknown_path(request, rest: str = ""):
    """Any path under /device/v1/ that names no endpoint."""
    return _error("not_found")


def urls():
    """The device API's URL configuration: Ninja's, with protocol errors for wrong methods and unknown paths."""
    patterns, app_name, namespace = device_api.urls
    wrapped = [
        URLPattern(p.pattern, _protocol_errors(p.callback), p.default_args, p.name) if isinstance(p, URLPattern) else p
        for p in patterns
    ]
    # Ninja's own root view ("" → api-root) would answer with HTML; the catch-all comes after every endpoint.
    # (OpenAPI finds the API's prefix by reversing "api-root", so the name stays.)
    wrapped = [p for p in wrapped if getattr(p, "name", None) != "api-root"]
    wrapped.append(path("", unknown_path, name="api-root"))
    wrapped.append(re_path(r"^(?P<rest>.+)$", unknown_path, name="unknown"))
    return wrapped, app_name, namespace
