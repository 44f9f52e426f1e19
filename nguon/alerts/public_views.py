"""The public side of alerts, no sign-in: the page of current alerts, its Atom feed, and each alert's CAP document.

Only `Alert.objects.public()` is ever shown: issued, current, real (not drills) and for the public. The pages are
rendered without the request's context processors (no session, no CSRF token), so that a proxy may cache them for
a few seconds when everyone looks at once.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.template.loader import render_to_string
from django.utils import translation

from nguon.alerts import export
from nguon.alerts.models import Alert
from nguon.units.models import Unit

CACHE_SECONDS = 30  # short: a cancelled alert must leave the page quickly
ATOM_CONTENT_TYPE = "application/atom+xml; charset=utf-8"
CAP_CONTENT_TYPE = "application/cap+xml"


def _language(request) -> str:
    """?lang=en or ?lang=vi (links on the page, cacheable), else what LocaleMiddleware chose."""
    asked = request.GET.get("lang", "")
    if asked in dict(settings.LANGUAGES):
        return asked
    return translation.get_language() or settings.LANGUAGE_CODE


def _public_alerts():
    units = Prefetch("area_units", queryset=Unit.objects.order_by("path"))
    return Alert.objects.public().select_related("unit").prefetch_related(units).order_by("-sent", "-id")


def _text(alert: Alert, name: str, english: bool) -> dict:
    """A text of the alert in the page's language, falling back to Vietnamese (marked, for screen readers)."""
    if english and getattr(alert, f"{name}_en", ""):
        return {"text": getattr(alert, f"{name}_en"), "lang": ""}
    return {"text": getattr(alert, name), "lang": "vi" if english else ""}


def _shown(alert: Alert, english: bool) -> dict:
    return {
        "alert": alert,
        "event": _text(alert, "event", english),
        "headline": _text(alert, "headline", english),
        "description": _text(alert, "description", english),
        "instruction": _text(alert, "instruction", english),
        "units": [u.name for u in alert.area_units.all()],
    }


def _cached(response: HttpResponse, language: str) -> HttpResponse:
    response["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    response["Content-Language"] = language
    return response


def index(request):
    language = _language(request)
    with translation.override(language):
        english = language.startswith("en")
        context = {
            "alerts": [_shown(a, english) for a in _public_alerts()],
            "language": language,
            "other_language": "vi" if english else "en",
        }
        html = render_to_string("alerts/public_index.html", context)
    return _cached(HttpResponse(html), language)


def feed(request):
    language = _language(request)
    with translation.override(language):
        body = export.atom_feed(_public_alerts(), request=request)
    return _cached(HttpResponse(body, content_type=ATOM_CONTENT_TYPE), language)


def cap_document(request, pk: int):
    alert = _public_alerts().filter(pk=pk).first()
    if alert is None:
        raise Http404()
    response = HttpResponse(export.cap_xml(alert), content_type=CAP_CONTENT_TYPE)
    response["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    return response
