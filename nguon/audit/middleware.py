from nguon.audit.context import Origin, origin


def client_ip(request) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a trusted proxy rewrites it.
    return request.META.get("REMOTE_ADDR") or None


class AuditContextMiddleware:
    """Record the request's address and user agent for the audit rows its actions write."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        channel = "api" if request.path.startswith("/api/") else "web"
        value = Origin(ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:300], channel=channel)
        with origin(value):
            return self.get_response(request)
