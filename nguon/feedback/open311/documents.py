"""The GeoReport v2 documents Nguồn serves: discovery, services, service definitions and service requests.

Only what a stranger may read leaves here: no name, phone, e-mail, precise address or free text unless a person
published the item (and then only the masked question and the published answer).
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from nguon.feedback.models import Event, Feedback, RefusalReason, Status, Topic
from nguon.units.models import Unit

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
MIME_TYPES = ["text/xml", "application/json"]
# When this API's own shape last changed (discovery's changeset is the later of this and the last commune change).
API_CHANGESET = "2026-12-03 00:00"
# The extension attributes every service asks for (see docs/open311.md).
COMMUNE = "commune"
CONSENT = "consent_publish"
CLOSED = (Status.REFUSED, Status.CLOSED)


def w3(moment) -> str | None:
    """A W3C date-time with its offset, in Vietnam's time (e.g. 2026-12-03T17:25:00+07:00)."""
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else None


def communes():
    """The units feedback can be about: those in force that have a parent and no unit in force below them."""
    current = Unit.objects.current()
    return current.filter(parent__isnull=False).exclude(pk__in=current.filter(parent__isnull=False).values("parent"))


def english() -> bool:
    return (translation.get_language() or "vi").startswith("en")


def endpoint_url(request) -> str:
    return request.build_absolute_uri(reverse("open311:discovery", kwargs={"fmt": "xml"})).rsplit("/", 1)[0]


def discovery(request) -> dict:
    latest = communes().aggregate(at=Max("updated_at"))["at"]
    changed = timezone.localtime(latest).strftime("%Y-%m-%d %H:%M") if latest else API_CHANGESET
    changeset = max(API_CHANGESET, changed)
    site = settings.PUBLIC_URL
    return {
        "changeset": changeset,
        "contact": _("The provincial administrators of Nguồn: %(url)s") % {"url": site},
        "key_service": _(
            "API keys for partner apps are issued by the system administrators on request; "
            "reading needs no key. Ask at %(url)s."
        )
        % {"url": site},
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": endpoint_url(request),
                "changeset": changeset,
                "type": "production",
                "formats": MIME_TYPES,
            }
        ],
    }


def topic_name(topic: Topic) -> str:
    return topic.name_en if english() and topic.name_en else topic.name


def service(topic: Topic) -> dict:
    # metadata is true: every service needs the commune attribute, which the service definition lists.
    return {
        "service_code": topic.code,
        "service_name": topic_name(topic),
        "description": topic.description or None,
        "metadata": True,
        "type": "realtime",
        "keywords": topic.keywords or None,
        "group": None,
    }


def definition(topic: Topic) -> dict:
    units = communes().select_related("parent").order_by("path")
    return {
        "service_code": topic.code,
        "attributes": [
            {
                "variable": True,
                "code": COMMUNE,
                "datatype": "singlevaluelist",
                "required": True,
                "datatype_description": _("The official code of the commune or ward."),
                "order": 1,
                "description": _("The commune or ward where the problem is."),
                "values": [{"key": unit.code, "name": unit.name} for unit in units],
            },
            {
                "variable": True,
                "code": CONSENT,
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": None,
                "order": 2,
                "description": _(
                    "Whether the person agrees that the question, with personal details removed, and its answer "
                    "may be published."
                ),
                "values": [{"key": "true", "name": _("Yes")}, {"key": "false", "name": _("No")}],
            },
        ],
    }


def public_status(feedback: Feedback) -> str:
    return "closed" if feedback.status in CLOSED else "open"


def _status_notes(feedback: Feedback) -> str | None:
    if feedback.status == Status.REFUSED and feedback.refusal_reason:
        return str(RefusalReason(feedback.refusal_reason).label)
    if feedback.is_published and feedback.published_answer:
        return feedback.published_answer
    return None


def service_request(feedback: Feedback, media_url: str | None = None) -> dict:
    """One request as anyone may see it: the published texts only, the place only to the commune."""
    published = feedback.is_published
    closed = feedback.status in CLOSED
    lat = lon = None
    if published and feedback.latitude is not None and feedback.longitude is not None:
        # About 100 m: enough for a map of problems, not enough to point at one house.
        lat, lon = round(feedback.latitude, 3), round(feedback.longitude, 3)
    handler = feedback.handler_organisation.name if feedback.handler_organisation_id else feedback.handler_unit.name
    return {
        "service_request_id": feedback.number,
        "status": public_status(feedback),
        "status_notes": _status_notes(feedback),
        "service_name": topic_name(feedback.topic),
        "service_code": feedback.topic.code,
        "description": (feedback.published_question or None) if published else None,
        "agency_responsible": handler,
        "service_notice": None,
        "requested_datetime": w3(feedback.received_at),
        "updated_datetime": w3(feedback.closed_at if closed and feedback.closed_at else feedback.status_changed_at),
        "expected_datetime": w3(feedback.due_at) if not closed else None,
        "address": feedback.unit.name,
        "address_id": feedback.unit.code,
        "zipcode": None,
        "lat": lat,
        "long": lon,
        "media_url": media_url if published else None,
    }


def service_requests(items) -> list[dict]:
    """The documents of `items` (a list), reading the media links of the published ones in one query."""
    published = [f.pk for f in items if f.is_published]
    media = {}
    if published:
        rows = Event.objects.filter(feedback_id__in=published, action="submit").values_list("feedback_id", "data")
        media = {pk: data.get("media_url") for pk, data in rows if isinstance(data, dict)}
    return [service_request(f, media.get(f.pk)) for f in items]


def request_queryset():
    return Feedback.objects.select_related("topic", "unit", "handler_unit", "handler_organisation")
