"""The public side of alerts, no sign-in: the page of current alerts, its Atom feed, and each alert's CAP document.

The page shows `Alert.objects.public()`: issued, current, real (not drills) and for the public. The Atom feed lists
`Alert.objects.in_feed()`: those, and for 48 hours the expired, updated and cancelled ones and the Cancel messages,
each an entry of its own that links to what it refers to. The CAP document of every real public message ever issued
stays fetchable (`published()`): a Cancel names it. The pages are rendered without the request's context
processors (no session, no CSRF token), so that a proxy may cache them for a few seconds when everyone looks at once.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.template.loader import render_to_string
from django.utils import translation

from nguon.alerts import export
from nguon.alerts.models import Alert, MsgType
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


def _with_units(alerts):
    units = Prefetch("area_units", queryset=Unit.objects.order_by("path"))
    return alerts.select_related("unit").prefetch_related(units).order_by("-sent", "-id")


def _public_alerts():
    return _with_units(Alert.objects.public())


def _primary(language: str) -> str:
    return (language or "vi").split("-")[0].lower()


def _text(alert: Alert, name: str, page: str) -> dict:
    """A text of the alert in the page's language where there is one, else the main text; `lang` is set when the
    text is not in the page's language (a received alert's main info may be in English, or any other language), so
    that screen readers and translators read it right."""
    if page == "en" and getattr(alert, f"{name}_en", ""):
        return {"text": getattr(alert, f"{name}_en"), "lang": ""}
    main = _primary(alert.language)
    return {"text": getattr(alert, name), "lang": "" if main == page else main}


def _shown(alert: Alert, page: str) -> dict:
    main = _primary(alert.language)
    return {
        "alert": alert,
        "event": _text(alert, "event", page),
        "headline": _text(alert, "headline", page),
        "description": _text(alert, "description", page),
        "instruction": _text(alert, "instruction", page),
        "units": [u.name for u in alert.area_units.all()],
        # The area's description and the sender's name are written in the main info's language.
        "main_lang": "" if main == page else main,
        "units_lang": "" if page == "vi" else "vi",  # names of Vietnamese units
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
            "alerts": [_shown(a, _primary(language)) for a in _public_alerts()],
            # Cancelled lately: someone who saw an alert learns why it is gone (the feed keeps them as long).
            "cancelled": [
                {"alert": c, "headline": _text(c, "headline", _primary(language))}
                for c in Alert.objects.in_feed().filter(msg_type=MsgType.CANCEL).order_by("-issued_at", "-id")
            ],
            "language": language,
            "other_language": "vi" if english else "en",
        }
        html = render_to_string("alerts/public_index.html", context)
    return _cached(HttpResponse(html), language)


def feed(request):
    language = _language(request)
    with translation.override(language):
        body = export.atom_feed(_with_units(Alert.objects.in_feed()).select_related("replaces"), request=request)
    return _cached(HttpResponse(body, content_type=ATOM_CONTENT_TYPE), language)


def cap_document(request, pk: int):
    alert = _with_units(Alert.objects.published()).filter(pk=pk).first()
    if alert is None:
        raise Http404()
    response = HttpResponse(export.cap_xml(alert), content_type=CAP_CONTENT_TYPE)
    response["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    return response
