from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.shortcuts import render

from nguon.core.errors import DomainError


class DomainErrorMiddleware:
    """Turn a domain error that escaped a view into a Vietnamese error page with the right status."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DomainError):
            return render(
                request,
                "core/error.html",
                {"status": exception.status, "message": exception.message},
                status=exception.status,
            )
        return None


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, plus the origins of servers named in settings (map tiles, media store, Icecast).

    They are read at request time rather than written into CONTENT_SECURITY_POLICY, so a setting added anywhere
    in settings.py (or changed by a test) is allowed without editing the policy.
    """

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only=report_only)
        if report_only:
            return parts
        extra = settings_origins()
        if extra:
            update = dict(parts.update or {})
            for directive, origins in extra.items():
                current = update.get(directive) or []
                update[directive] = [*([current] if isinstance(current, str) else current), *origins]
            parts.update = update
        return parts


def _origin(url: str) -> str | None:
    """scheme://host[:port] of an absolute http(s) URL (a tile URL template too); None for anything else."""
    wildcard = "{s}." in url  # Leaflet-style subdomains ({s}.tile.example.org): any subdomain of the host
    parts = urlsplit(url.replace("{s}.", ""))
    try:
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = f"*.{parts.hostname}" if wildcard else parts.hostname
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}"


def settings_origins() -> dict[str, list[str]]:
    """The extra sources each CSP directive needs for the servers configured in settings."""
    extra: dict[str, list[str]] = {}
    tiles = _origin(getattr(settings, "MAP_TILE_URL", "") or "")
    if tiles:
        extra.setdefault("img-src", []).append(tiles)
    if getattr(settings, "S3_BUCKET", ""):
        store = _origin(getattr(settings, "S3_ENDPOINT_URL", "") or "") or "https://*.amazonaws.com"
        extra.setdefault("img-src", []).append(store)
        extra.setdefault("media-src", []).append(store)
    icecast = _origin(getattr(settings, "ICECAST_URL", "") or "")
    if icecast:
        extra.setdefault("media-src", []).append(icecast)
    return extra
