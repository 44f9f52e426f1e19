"""Error pages in the reader's language (400, 403, 404, 500 and a refused CSRF check); JSON for machines.

The back office and the public pages get a page that says what happened and what to do next; the JSON API
(/api/) and the device protocol (/device/) get the project's error shape {"error": {"code", "message"}}.
"""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import REASON_NO_CSRF_COOKIE
from django.shortcuts import render
from django.template import loader
from django.utils.translation import get_language
from django.utils.translation import gettext as _

JSON_PREFIXES = ("/api/", "/device/")


def _wants_json(request) -> bool:
    return request.path.startswith(JSON_PREFIXES)


def _json(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def bad_request(request, exception=None):
    if _wants_json(request):
        return _json("bad_request", _("The request could not be understood."), 400)
    return render(request, "400.html", status=400)


def permission_denied(request, exception=None):
    if _wants_json(request):
        return _json("forbidden", _("You do not have permission to do this."), 403)
    return render(request, "403.html", status=403)


def page_not_found(request, exception=None):
    if _wants_json(request):
        return _json("not_found", _("Not found, or not within your units."), 404)
    return render(request, "404.html", status=404)


def server_error(request):
    """Render without context processors: they read the database, which may be what failed."""
    if _wants_json(request):
        return _json("server_error", _("The server could not complete the request. Try again in a moment."), 500)
    html = loader.get_template("500.html").render({"LANG": get_language() or "vi"})
    return HttpResponse(html, status=500)


def csrf_failure(request, reason=""):
    """A form refused by the CSRF check (settings.CSRF_FAILURE_VIEW): usually a page left open too long."""
    if _wants_json(request):
        return _json("csrf_failed", _("The request was refused by the cross-site request forgery check."), 403)
    return render(request, "403_csrf.html", {"no_cookie": reason == REASON_NO_CSRF_COOKIE}, status=403)
