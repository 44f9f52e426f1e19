"""Device protocol v1 pieces shared by the Ninja device API and the async gateway (see docs/device-protocol.md).

Nothing here touches the database, so the gateway can call it on its event loop.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from functools import cache

import orjson
from django.utils import translation
from django.utils.translation import gettext_lazy as _

BASE = "/device/v1"
SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_BATCH_BYTES = 1024 * 1024
IMMUTABLE = "public, max-age=31536000, immutable"

# Error code → (HTTP status, message). Messages are English msgids; devices get them in Vietnamese.
ERRORS = {
    "unauthenticated": (401, _("The device token is missing, wrong or revoked.")),
    "invalid_code": (400, _("This enrolment code is not valid.")),
    "invalid_request": (400, _("The request is not valid.")),
    "invalid_batch": (400, _("The report batch is not valid; nothing was stored.")),
    "not_found": (404, _("Not found.")),
    "method_not_allowed": (405, _("This method is not allowed on this path.")),
    "too_large": (413, _("The report batch is larger than 1 MiB; send fewer records at a time.")),
    "range_not_satisfiable": (416, _("The requested byte range lies outside the file.")),
    "rate_limited": (429, _("Too many requests; try again later.")),
    "unavailable": (503, _("The server cannot answer right now; try again later.")),
}


def iso_ms(moment: datetime) -> str:
    """UTC ISO 8601 with milliseconds and a Z, as in X-Server-Time and `server_time`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def now_utc() -> datetime:
    return datetime.now(UTC)


_second: tuple[int, str] = (0, "")  # the last whole second, formatted (one tuple: threads swap it atomically)


def server_time() -> str:
    """Now as `iso_ms` gives it (the value of X-Server-Time), formatting each second once: it is on every answer."""
    global _second
    now = time.time()
    second = int(now)
    cached = _second
    if cached[0] != second:
        cached = _second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{cached[1]}.{int((now - second) * 1000):03d}Z"


@cache
def error_body(code: str) -> bytes:
    """The JSON error document for `code`, in Vietnamese whatever language the request asked for."""
    with translation.override("vi"):
        return orjson.dumps({"error": {"code": code, "message": str(ERRORS[code][1])}})


def error_status(code: str) -> int:
    return ERRORS[code][0]


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    if not header:
        return None
    scheme, _sep, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """True when an If-None-Match header names `etag` (weak comparison, lists and `*` allowed)."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


def manifest_headers(*, etag: str, version: int, signature: str) -> list[tuple[str, str]]:
    """Headers of a 200 manifest answer (the 304 carries only the ETag)."""
    return [
        ("ETag", etag),
        ("X-Nguon-Signature", signature),
        ("X-Nguon-Manifest-Version", str(version)),
        # Revalidate every time: the ETag makes that a 304 most of the time.
        ("Cache-Control", "no-cache"),
    ]


def media_headers(sha256: str, mime_type: str) -> list[tuple[str, str]]:
    return [
        ("Content-Type", mime_type or "application/octet-stream"),
        ("Accept-Ranges", "bytes"),
        ("ETag", f'"{sha256}"'),
        ("Cache-Control", IMMUTABLE),
    ]


_RANGE = re.compile(r"bytes=([0-9]{0,18})-([0-9]{0,18})")


class Unsatisfiable(Exception):
    pass


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) byte range a Range header asks for, or None for the whole file.

    Only one range is served; a header with several, or one we cannot read, is ignored (the whole file is sent,
    as RFC 9110 allows). Raises Unsatisfiable for a range that starts past the end.
    """
    match = _RANGE.fullmatch(header.strip()) if header else None
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first_text, last_text = match.groups()
    if not first_text:  # "bytes=-500": the last 500 bytes
        length = int(last_text)
        if length == 0 or size == 0:
            raise Unsatisfiable
        return max(size - length, 0), size - 1
    first = int(first_text)
    if first >= size:
        raise Unsatisfiable
    last = min(int(last_text), size - 1) if last_text else size - 1
    if last < first:
        return None
    return first, last


def collect_hashes(document, found: set[str] | None = None) -> set[str]:
    """Every `sha256` value in a manifest or event body: the media a device may download."""
    found = set() if found is None else found
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "sha256" and isinstance(value, str):
                found.add(value)
            else:
                collect_hashes(value, found)
    elif isinstance(document, list):
        for value in document:
            collect_hashes(value, found)
    return found


def manifest_hashes(body: bytes) -> frozenset[str]:
    return frozenset(collect_hashes(orjson.loads(body)))
