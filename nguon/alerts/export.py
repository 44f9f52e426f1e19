"""Alerts as CAP 1.2 messages and the public Atom feed.

A message received from elsewhere (a trusted sender, an imported file) is written back as the sender wrote it, from
`Alert.received`: every info in every language, each with its own areas, parameters, event codes and resources,
times with the sender's offset; nothing is added. A message composed here is written from the Alert's fields: a
Vietnamese info and an English one when there is English text, both with the area, its units named by geocode,
and every time in the zone of the area (Vietnam, +07:00), as Google Public Alerts asks.
"""

from __future__ import annotations

import logging

from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from nguon.alerts import cap
from nguon.alerts.cap import serial
from nguon.alerts.models import RISK_LEVEL_PARAMETER, Alert, MsgType, Origin
from nguon.units.models import Unit

logger = logging.getLogger(__name__)

GEOCODE_NAME = "VN-unit"  # geocodes naming our units: the official code of the administrative unit


def _local(value):
    """The time in the zone of the area: the deployment's zone (Asia/Ho_Chi_Minh, +07:00)."""
    return None if value is None else timezone.localtime(value, timezone.get_default_timezone())


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


def received_message(alert: Alert) -> cap.CapMessage | None:
    """The message as it was received, or None for an alert composed here."""
    if alert.received:
        return serial.from_data(alert.received)
    if alert.origin != Origin.COMPOSED and alert.original_xml:
        # Imported before the parsed message was stored: read the document again.
        try:
            return cap.parse(alert.original_xml.encode("utf-8")).message
        except cap.CapError:
            logger.warning("alert %s: its stored CAP document cannot be read again; written from its fields", alert.pk)
    return None


def other_infos(alert: Alert) -> list[cap.Info]:
    """The infos of a received message that the alert's own fields do not show (languages beyond the main one and
    English), for the alert's page."""
    message = received_message(alert)
    if message is None:
        return []
    shown = cap.main_infos(message)
    return [info for info in message.infos if not any(info is s for s in shown)]


def composed_message(alert: Alert) -> cap.CapMessage:
    units = sorted(alert.area_units.all(), key=lambda u: u.code)  # .all(): uses a prefetch (the feed has one)
    areas = _area(alert, units)
    common = {
        "categories": list(alert.categories) or ["Other"],
        "response_types": list(alert.response_types),
        "urgency": alert.urgency,
        "severity": alert.severity,
        "certainty": alert.certainty,
        "effective": _local(alert.effective),
        "onset": _local(alert.onset),
        "expires": _local(alert.expires),
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
        sent=_local(alert.sent),
        status=alert.status,
        msg_type=alert.msg_type,
        source=alert.source,
        scope=alert.scope,
        note=alert.note,
        references=references,
        infos=infos,
    )


def alert_to_cap(alert: Alert) -> cap.CapMessage:
    """The alert's CAP message, without characters XML cannot carry (a row written before they were refused, or by
    hand, must not make its document, or the feed, unwritable: they are dropped and the row is logged)."""
    message = received_message(alert) or composed_message(alert)
    message, dropped = serial.clean(message)
    if dropped:
        logger.warning("alert %s: characters XML cannot carry were dropped from its CAP message", alert.pk)
    return message


def cap_xml(alert: Alert) -> bytes:
    return cap.to_xml(alert_to_cap(alert))


def _entry(alert: Alert, *, base_url: str, language: str, now) -> cap.FeedEntry | None:
    message = alert_to_cap(alert)
    # Expired alerts stay in the feed for a while (Alert.objects.in_feed says how long), as Google asks.
    if [p for p in cap.feed_problems(message, now=now) if p != "expired"]:
        return None
    entry = cap.FeedEntry(
        message=message, url=base_url + reverse("public_alerts:cap", args=[alert.pk]), language=language
    )
    if alert.msg_type == MsgType.CANCEL:
        info = cap.pick_info(message, language)
        headline = (info.headline or info.event) if info else ""
        entry.title = _("Cancelled: %(headline)s") % {"headline": headline} if headline else _("Alert cancelled")
    if alert.replaces is not None and alert.replaces.is_published():  # not one withdrawn before approval
        entry.related = [base_url + reverse("public_alerts:cap", args=[alert.replaces_id])]
    return entry


def public_entries(alerts, *, base_url: str, language: str = "vi", now=None) -> list[cap.FeedEntry]:
    """Feed entries of the alerts that pass Google Public Alerts' rules (the others are left out, never bent).

    One alert that cannot be written (a bad stored row) is left out and logged; the feed still answers."""
    now = now or timezone.now()
    entries = []
    for alert in alerts:
        try:
            entry = _entry(alert, base_url=base_url, language=language, now=now)
        except Exception:
            logger.exception("alert %s left out of the public feed: it cannot be written as CAP", alert.pk)
            continue
        if entry is not None:
            entries.append(entry)
    return entries


def feed_updated(now=None):
    """When the feed last changed: the latest issue, cancel, update or expiry of a published alert. It never goes
    backwards (entries leaving the feed do not pull it back to an older alert's time)."""
    now = now or timezone.now()
    found = Alert.objects.published().aggregate(
        issued=Max("issued_at", filter=Q(issued_at__lte=now)),
        closed=Max("closed_at", filter=Q(closed_at__lte=now)),
        expired=Max("expires", filter=Q(expires__lte=now)),
    )
    return max((t for t in found.values() if t is not None), default=now)


def atom_feed(alerts, *, request, now=None) -> bytes:
    now = now or timezone.now()
    base = request.build_absolute_uri("/").rstrip("/")
    language = get_language() or "vi"
    entries = public_entries(list(alerts), base_url=base, language=language, now=now)
    return cap.atom_feed(
        entries,
        feed_id=base + reverse("public_alerts:feed"),
        title=_("Emergency alerts"),
        self_url=base + reverse("public_alerts:feed"),
        updated=_local(feed_updated(now)),
        language=language,
    )
