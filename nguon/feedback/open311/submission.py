"""POST requests.{format}: a partner app's form-encoded service request, checked field by field, then submitted."""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django_ratelimit.core import get_usage

from nguon.audit.middleware import client_ip
from nguon.core.errors import DomainError, Forbidden, Invalid
from nguon.core.validators import xml_text_problem
from nguon.feedback.actions import FeedbackData, do_submit_feedback
from nguon.feedback.models import Channel, Event, Feedback, PartnerKey, Topic
from nguon.feedback.open311.documents import COMMUNE, CONSENT, communes
from nguon.feedback.open311.keys import verify_key

MAX_DESCRIPTION = 4_000  # the spec's limit on description
MAX_MEDIA_URL = 500
MAX_ID = 100  # device_id, account_id, address_id
# Our field names in the action's errors, as the partner's parameters are called.
PARAMETERS = {
    "text": "description",
    "title": "description",
    "address": "address_string",
    "latitude": "lat",
    "longitude": "long",
    "name": "first_name",
    "phone": "phone",
    "email": "email",
    "unit": f"attribute[{COMMUNE}]",
    "topic": "service_code",
}


class ApiError(Exception):
    """A refusal in the spec's terms: an HTTP status and one or more human-readable descriptions."""

    def __init__(self, status: int, messages, headers: dict | None = None):
        self.status = status
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        self.headers = headers or {}
        super().__init__("; ".join(str(m) for m in self.messages))


def authenticate(params) -> PartnerKey:
    plain = (params.get("api_key") or "").strip()
    if not plain:
        raise ApiError(403, _("api_key was not provided: a key is needed to submit a request."))
    key = verify_key(plain)
    if key is None:
        raise ApiError(403, _("Invalid api_key received: the key is unknown or revoked."))
    if not key.can_submit:
        raise ApiError(403, _("This api_key may read but not submit requests."))
    return key


def throttle(request, key: PartnerKey) -> None:
    """Count the submission against the key's hourly allowance (shared by every server process)."""
    rate = f"{settings.FEEDBACK_RATE_PER_HOUR * 10}/h"
    usage = get_usage(request, group="open311:key", key=lambda _group, _request: key.prefix, rate=rate, increment=True)
    if usage is not None and usage["should_limit"]:
        retry = max(1, int(usage["time_left"]))
        raise ApiError(
            429,
            _("Too many requests with this api_key; try again in %(n)s seconds.") % {"n": retry},
            headers={"Retry-After": str(retry)},
        )


def _number(params, name: str, low: float, high: float, problems: list) -> float | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not low <= value <= high or len(raw) > 40:
        problems.append(
            _("%(name)s must be a number from %(low)s to %(high)s.") % {"name": name, "low": low, "high": high}
        )
        return None
    return value


def _short_text(params, name: str, limit: int, problems: list) -> str:
    value = (params.get(name) or "").strip()
    problem = xml_text_problem(value)
    if problem:
        problems.append(f"{name}: {problem}")
        return ""
    if len(value) > limit:
        problems.append(_("%(name)s is too long (at most %(n)s characters).") % {"name": name, "n": limit})
        return ""
    return value


def parse(params) -> tuple[FeedbackData, dict]:
    """The feedback and the extra values (kept in its history) a form-encoded request carries; ApiError if bad."""
    code = (params.get("service_code") or "").strip()
    if not code:
        raise ApiError(400, _("service_code was not provided."))
    topic = Topic.objects.filter(code=code[:40], is_active=True).first()
    if topic is None:
        raise ApiError(404, _("service_code %(code)s was not found.") % {"code": code[:40]})
    problems: list[str] = []
    description = params.get("description") or ""
    if not description.strip():
        problems.append(_("description: describe the problem."))
    elif len(description) > MAX_DESCRIPTION:
        problems.append(_("description is too long (at most %(n)s characters).") % {"n": f"{MAX_DESCRIPTION:,}"})
    lat = _number(params, "lat", -90, 90, problems)
    lon = _number(params, "long", -180, 180, problems)
    sent = [bool((params.get(name) or "").strip()) for name in ("lat", "long")]
    if sent[0] != sent[1]:
        problems.append(_("lat and long must be sent together."))
    if lat is None or lon is None:
        lat = lon = None
    address = _short_text(params, "address_string", 300, problems)
    address_id = _short_text(params, "address_id", MAX_ID, problems)
    if not any(sent) and not address and not address_id:
        problems.append(_("A location is needed: lat and long, address_string or address_id."))
    commune_code = (params.get(f"attribute[{COMMUNE}]") or "").strip()
    unit = communes().filter(code=commune_code[:20]).first() if commune_code else None
    if not commune_code:
        problems.append(_("attribute[commune] was not provided: give the official code of the commune or ward."))
    elif unit is None:
        problems.append(_("attribute[commune] %(code)s is not a commune or ward here.") % {"code": commune_code[:20]})
    consent = (params.get(f"attribute[{CONSENT}]") or "").strip().lower()
    if consent not in ("", "true", "false"):
        problems.append(_("attribute[consent_publish] must be true or false."))
    media_url = _short_text(params, "media_url", MAX_MEDIA_URL, problems)
    if media_url:
        parts = urlsplit(media_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
            problems.append(_("media_url must be an http or https address."))
    extra = {
        "device_id": _short_text(params, "device_id", MAX_ID, problems),
        "account_id": _short_text(params, "account_id", MAX_ID, problems),
        "address_id": address_id,
        "media_url": media_url,
    }
    first, last = (_short_text(params, n, 100, problems) for n in ("first_name", "last_name"))
    phone = _short_text(params, "phone", 30, problems)
    email = _short_text(params, "email", 254, problems)
    if problems:
        raise ApiError(400, problems)
    data = FeedbackData(
        topic=topic,
        unit=unit,
        text=description,
        address=address,
        latitude=lat,
        longitude=lon,
        # Vietnamese order: family name first.
        name=" ".join(part for part in (last, first) if part),
        phone=phone,
        email=email,
        consent_publish=consent == "true",
        language="en" if (translation.get_language() or "vi").startswith("en") else "vi",
    )
    return data, {name: value for name, value in extra.items() if value}


def submit(request, params) -> tuple[Feedback, str]:
    """Check the key, the rate and the fields, then record the feedback; returns it with the service notice."""
    key = authenticate(params)
    throttle(request, key)
    data, extra = parse(params)
    try:
        with transaction.atomic():
            feedback, _code = do_submit_feedback(
                data, channel=Channel.OPEN311, api_key=key, source_ip=client_ip(request)
            )
            if extra:
                # What the partner sent that the feedback has no field for, kept as text in its first history row.
                # media_url is never fetched: an address a stranger typed may point inside our network.
                event = Event.objects.filter(feedback=feedback, action="submit").first()
                event.data = {**event.data, **extra}
                event.save(update_fields=["data"])
    except Forbidden as exc:
        raise ApiError(403, str(exc.message)) from None
    except Invalid as exc:
        messages = [
            f"{PARAMETERS.get(field, field)}: {message}" for field, items in exc.fields.items() for message in items
        ]
        raise ApiError(400, messages or [str(exc.message)]) from None
    except DomainError as exc:
        raise ApiError(400, str(exc.message)) from None
    handler = feedback.handler_organisation.name if feedback.handler_organisation_id else feedback.handler_unit.name
    notice = _("%(handler)s handles it; an accepted request is answered within %(n)s working days.") % {
        "handler": handler,
        "n": feedback.topic.deadline_days,
    }
    return feedback, notice
