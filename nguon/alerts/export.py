"""An Alert row as a CAP 1.2 message: one <info> in Vietnamese, one in English when there is English text."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from nguon.alerts import cap
from nguon.alerts.models import RISK_LEVEL_PARAMETER, Alert, Origin
from nguon.units.models import Unit

GEOCODE_NAME = "VN-unit"  # geocodes naming our units: the official code of the administrative unit


def _area(alert: Alert, units: list[Unit]) -> list[cap.Area]:
    desc = alert.area_desc or ", ".join(u.name for u in units)
    geocodes = [tuple(g) for g in alert.geocodes]
    geocodes += [(GEOCODE_NAME, u.code) for u in units if (GEOCODE_NAME, u.code) not in geocodes]
    if not (desc or alert.polygons or alert.circles or geocodes):
        return []
    return [
        cap.Area(
            area_desc=desc or alert.headline,
            polygons=[[(float(lat), float(lon)) for lat, lon in ring] for ring in alert.polygons],
            circles=[(float(lat), float(lon), float(r)) for lat, lon, r in alert.circles],
            geocodes=geocodes,
        )
    ]


def _parameters(alert: Alert) -> list[tuple[str, str]]:
    """What a message composed here adds: the disaster risk level (QĐ 18/2021/QĐ-TTg). Another sender's
    parameters are that sender's to write."""
    if alert.origin == Origin.COMPOSED and alert.risk_level:
        return [(RISK_LEVEL_PARAMETER, str(alert.risk_level))]
    return []


def alert_to_cap(alert: Alert) -> cap.CapMessage:
    units = sorted(alert.area_units.all(), key=lambda u: u.code)  # .all(): uses a prefetch (the feed has one)
    areas = _area(alert, units)
    common = {
        "categories": list(alert.categories) or ["Other"],
        "response_types": list(alert.response_types),
        "urgency": alert.urgency,
        "severity": alert.severity,
        "certainty": alert.certainty,
        "effective": alert.effective,
        "onset": alert.onset,
        "expires": alert.expires,
        "sender_name": alert.sender_name,
        "web": alert.web,
        "contact": alert.contact,
        "areas": areas,
        "parameters": _parameters(alert),
    }
    infos = [
        cap.Info(
            language=alert.language or "vi-VN",
            event=alert.event,
            headline=alert.headline,
            description=alert.description,
            instruction=alert.instruction,
            **common,
        )
    ]
    if alert.headline_en or alert.description_en:
        infos.append(
            cap.Info(
                language="en-US",
                event=alert.event_en or alert.event,
                headline=alert.headline_en,
                description=alert.description_en,
                instruction=alert.instruction_en,
                **common,
            )
        )
    references = []
    for text in alert.references:
        sender, identifier, sent = (text.split(",", 2) + ["", ""])[:3]
        references.append(cap.Reference(sender=sender, identifier=identifier, sent=sent))
    return cap.CapMessage(
        identifier=alert.identifier,
        sender=alert.sender,
        sent=alert.sent,
        status=alert.status,
        msg_type=alert.msg_type,
        source=alert.source,
        scope=alert.scope,
        note=alert.note,
        references=references,
        infos=infos,
    )


def cap_xml(alert: Alert) -> bytes:
    return cap.to_xml(alert_to_cap(alert))


def public_entries(alerts, *, base_url: str, language: str = "vi") -> list[cap.FeedEntry]:
    """Feed entries of the alerts that pass Google Public Alerts' rules (the others are left out, never bent)."""
    entries = []
    for alert in alerts:
        message = alert_to_cap(alert)
        if cap.feed_problems(message):
            continue
        url = base_url + reverse("public_alerts:cap", args=[alert.pk])
        entries.append(cap.FeedEntry(message=message, url=url, language=language))
    return entries


def atom_feed(alerts, *, request) -> bytes:
    base = request.build_absolute_uri("/").rstrip("/")
    entries = public_entries(list(alerts), base_url=base, language=get_language() or "vi")
    updated = max((e.message.sent for e in entries), default=None) or timezone.now()
    return cap.atom_feed(
        entries,
        feed_id=base + reverse("public_alerts:feed"),
        title=_("Current emergency alerts"),
        self_url=base + reverse("public_alerts:feed"),
        updated=updated,
    )
