"""An Atom index of CAP alerts, and the checks Google Public Alerts applies before showing an alert.

Each Atom entry points at its full CAP document (link type application/cap+xml) and repeats the fields readers
filter on as cap: elements, the way CAP Atom index feeds (NWS, the OASIS CAP feeds note) do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree

from nguon.lib.xmltext import strip_forbidden

from .build import format_number, format_time
from .model import MIME_TYPE, NAMESPACE, CapMessage, Info, language_of

ATOM_NAMESPACE = "http://www.w3.org/2005/Atom"
_ATOM = f"{{{ATOM_NAMESPACE}}}"
_CAP = f"{{{NAMESPACE}}}"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def feed_problems(message: CapMessage, *, now: datetime | None = None) -> list[str]:
    """Return codes of the reasons a public alert feed (Google Public Alerts' rules) would not show the message.

    Codes: not_actual, not_public, no_info, missing_expires, missing_description, missing_area, unknown_urgency,
    unknown_severity, unknown_certainty, expired. An empty list means the message is fit for a public feed.
    """
    now = now or datetime.now(UTC)
    problems: list[str] = []
    if message.status != "Actual":
        problems.append("not_actual")
    if message.scope != "Public":
        problems.append("not_public")
    if message.msg_type == "Cancel":
        # A Cancel says that an earlier alert is over; CAP lets it carry no info at all, and Google's own example
        # Cancel has an Unknown severity and expires when sent.
        return problems
    if not message.infos:
        problems.append("no_info")
    checks = [
        ("missing_expires", lambda info: info.expires is None),
        ("missing_description", lambda info: not info.description),
        ("missing_area", lambda info: not info.areas),
        ("unknown_urgency", lambda info: info.urgency == "Unknown"),
        ("unknown_severity", lambda info: info.severity == "Unknown"),
        ("unknown_certainty", lambda info: info.certainty == "Unknown"),
    ]
    for code, failed in checks:
        if any(failed(info) for info in message.infos):
            problems.append(code)
    expiries = [info.expires for info in message.infos if info.expires is not None]
    # Translations share one expiry; a message is over only when every one of its infos has expired.
    if expiries and max(expiries) <= now:
        problems.append("expired")
    return problems


@dataclass(kw_only=True)
class FeedEntry:
    """One alert in the feed: the message and the URL where its CAP document is served."""

    message: CapMessage
    url: str
    language: str = ""  # the info to summarise; the first one when empty or not found
    title: str = ""  # the entry's title; the info's headline (or event) when empty
    related: list[str] = field(default_factory=list)  # URLs of the CAP documents this Update or Cancel refers to


def pick_info(message: CapMessage, language: str = "") -> Info | None:
    """Return the info in the language (exact, then by primary subtag), else the first one."""
    if not message.infos:
        return None
    if language:
        wanted = language.lower()
        for matches in (lambda tag: tag == wanted, lambda tag: tag.split("-")[0] == wanted.split("-")[0]):
            for info in message.infos:
                if matches(language_of(info).lower()):
                    return info
    return message.infos[0]


def main_infos(message: CapMessage) -> tuple[Info | None, Info | None]:
    """The info an alert is shown in (the Vietnamese one, else the first) and an English one beside it, if any."""
    main, english = pick_info(message, "vi"), pick_info(message, "en")
    if english is main or english is None or not language_of(english).lower().startswith("en"):
        english = None
    return main, english


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, tag, {k: strip_forbidden(v) for k, v in attributes.items()})
    if text is not None:
        element.text = strip_forbidden(text)  # the last guard: one bad stored value must not take the feed down
    return element


def _entry(feed: etree._Element, entry: FeedEntry) -> None:
    message = entry.message
    info = pick_info(message, entry.language)
    element = _sub(feed, _ATOM + "entry")
    if info and language_of(info).split("-")[0].lower() != entry.language.split("-")[0].lower():
        element.set(_XML_LANG, language_of(info))  # the entry's texts are in the info's language, not the feed's
    _sub(element, _ATOM + "id", entry.url)
    title = entry.title or ((info.headline or info.event) if info else message.identifier)
    _sub(element, _ATOM + "title", title or message.identifier)
    _sub(element, _ATOM + "updated", format_time(message.sent))
    _sub(element, _ATOM + "published", format_time(message.sent))
    author = _sub(element, _ATOM + "author")
    _sub(author, _ATOM + "name", (info.sender_name if info else "") or message.sender)
    _sub(element, _ATOM + "link", rel="alternate", type=MIME_TYPE, href=entry.url)
    for url in entry.related:
        _sub(element, _ATOM + "link", rel="related", type=MIME_TYPE, href=url)
    if info and info.description:
        _sub(element, _ATOM + "summary", info.description, type="text")
    if info:
        _sub(element, _CAP + "event", info.event)
        if info.effective:
            _sub(element, _CAP + "effective", format_time(info.effective))
        if info.expires:
            _sub(element, _CAP + "expires", format_time(info.expires))
    _sub(element, _CAP + "status", message.status)
    _sub(element, _CAP + "msgType", message.msg_type)
    if info:
        _sub(element, _CAP + "category", " ".join(info.categories))
        _sub(element, _CAP + "urgency", info.urgency)
        _sub(element, _CAP + "severity", info.severity)
        _sub(element, _CAP + "certainty", info.certainty)
        _sub(element, _CAP + "areaDesc", "; ".join(area.area_desc for area in info.areas))
        for area in info.areas:
            for ring in area.polygons:
                points = " ".join(f"{format_number(lat)},{format_number(lon)}" for lat, lon in ring)
                _sub(element, _CAP + "polygon", points)


def atom_feed(
    entries: Iterable[FeedEntry], *, feed_id: str, title: str, self_url: str, updated: datetime, language: str = ""
) -> bytes:
    """Return an Atom 1.0 feed (UTF-8) indexing the CAP documents of the entries; `language` is the feed's own
    (its title), and an entry summarised from an info in another language says so with xml:lang."""
    feed = etree.Element(_ATOM + "feed", nsmap={None: ATOM_NAMESPACE, "cap": NAMESPACE})
    if language:
        feed.set(_XML_LANG, language)
    _sub(feed, _ATOM + "id", feed_id)
    _sub(feed, _ATOM + "title", title)
    _sub(feed, _ATOM + "updated", format_time(updated))
    _sub(feed, _ATOM + "link", rel="self", type="application/atom+xml", href=self_url)
    for entry in entries:
        _entry(feed, entry)
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)
