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
