"""Write a CapMessage as a CAP 1.2 document that validates against the OASIS schema."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from lxml import etree

from nguon.lib.xmltext import strip_forbidden

from .model import NAMESPACE, Area, CapMessage, Info, Resource

_NS = f"{{{NAMESPACE}}}"


def format_time(value: datetime) -> str:
    """Return the time as the schema requires: 2026-07-09T19:38:21+07:00, no fraction, never "Z".

    The datetime keeps its own offset. A zero offset is written -00:00, the standard's spelling of UTC, unless the
    zone is named "+00:00" (the parser names it so when the sender wrote it that way, so that a received time is
    written back as it came). An offset with seconds, which the pattern cannot express, is converted to UTC.
    """
    offset = value.utcoffset()
    if offset is None:
        raise ValueError(f"CAP times must be timezone-aware: {value!r}")
    if offset.total_seconds() % 60:
        value = value.astimezone(UTC)
        offset = value.utcoffset()
    if not offset:
        sign = "+" if value.tzname() == "+00:00" else "-"
        return value.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%S") + f"{sign}00:00"
    return value.isoformat(timespec="seconds")


def format_number(value: float) -> str:
    """Return a float in plain decimal notation (xs:decimal has no exponent form), a whole number without ".0"
    (an altitude of 0 is written 0, as senders write it)."""
    text = repr(float(value))
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    return text[:-2] if text.endswith(".0") else text


def reference_string(sender: str, identifier: str, sent: datetime | str) -> str:
    """Return one <references> entry, "sender,identifier,sent"."""
    return f"{sender},{identifier},{format_time(sent) if isinstance(sent, datetime) else sent}"


def join_quoted(items: list[str]) -> str:
    """Join a CAP space-delimited list, quoting items that contain whitespace."""
    return " ".join(f'"{item}"' if any(c.isspace() for c in item) else item for item in items)


def _add(parent: etree._Element, name: str, text: str | None) -> etree._Element | None:
    if text is None or text == "":
        return None
    element = etree.SubElement(parent, _NS + name)
    element.text = strip_forbidden(text)  # the last guard: a bad stored value must not make the document unwritable
    return element


def _add_pairs(parent: etree._Element, name: str, pairs: list[tuple[str, str]]) -> None:
    for value_name, value in pairs:
        element = etree.SubElement(parent, _NS + name)
        etree.SubElement(element, _NS + "valueName").text = strip_forbidden(value_name)
        etree.SubElement(element, _NS + "value").text = strip_forbidden(value)


def _add_time(parent: etree._Element, name: str, value: datetime | None) -> None:
    if value is not None:
        _add(parent, name, format_time(value))


def _resource(parent: etree._Element, resource: Resource) -> None:
    element = etree.SubElement(parent, _NS + "resource")
    # resourceDesc and mimeType are required by the schema even when empty.
    etree.SubElement(element, _NS + "resourceDesc").text = strip_forbidden(resource.resource_desc)
    etree.SubElement(element, _NS + "mimeType").text = strip_forbidden(resource.mime_type)
    _add(element, "size", None if resource.size is None else str(resource.size))
    _add(element, "uri", resource.uri)
    _add(element, "derefUri", resource.deref_uri)
    _add(element, "digest", resource.digest)


def _area(parent: etree._Element, area: Area) -> None:
    element = etree.SubElement(parent, _NS + "area")
    etree.SubElement(element, _NS + "areaDesc").text = strip_forbidden(area.area_desc)
    for ring in area.polygons:
        _add(element, "polygon", " ".join(f"{format_number(lat)},{format_number(lon)}" for lat, lon in ring))
    for lat, lon, radius in area.circles:
        _add(element, "circle", f"{format_number(lat)},{format_number(lon)} {format_number(radius)}")
    _add_pairs(element, "geocode", area.geocodes)
    _add(element, "altitude", None if area.altitude is None else format_number(area.altitude))
    _add(element, "ceiling", None if area.ceiling is None else format_number(area.ceiling))


def _info(parent: etree._Element, info: Info) -> None:
    element = etree.SubElement(parent, _NS + "info")
    _add(element, "language", info.language)
    for category in info.categories:
        _add(element, "category", category)
    etree.SubElement(element, _NS + "event").text = strip_forbidden(info.event)
    for response_type in info.response_types:
        _add(element, "responseType", response_type)
    _add(element, "urgency", info.urgency)
    _add(element, "severity", info.severity)
    _add(element, "certainty", info.certainty)
    _add(element, "audience", info.audience)
    _add_pairs(element, "eventCode", info.event_codes)
    _add_time(element, "effective", info.effective)
    _add_time(element, "onset", info.onset)
    _add_time(element, "expires", info.expires)
    _add(element, "senderName", info.sender_name)
    _add(element, "headline", info.headline)
    _add(element, "description", info.description)
    _add(element, "instruction", info.instruction)
    _add(element, "web", info.web)
    _add(element, "contact", info.contact)
    _add_pairs(element, "parameter", info.parameters)
    for resource in info.resources:
        _resource(element, resource)
    for area in info.areas:
        _area(element, area)


def to_element(message: CapMessage) -> etree._Element:
    """Return the <alert> element, children in the order the schema's sequence requires."""
    root = etree.Element(_NS + "alert", nsmap={None: NAMESPACE})
    _add(root, "identifier", message.identifier)
    _add(root, "sender", message.sender)
    _add(root, "sent", format_time(message.sent))
    _add(root, "status", message.status)
    _add(root, "msgType", message.msg_type)
    _add(root, "source", message.source)
    _add(root, "scope", message.scope)
    _add(root, "restriction", message.restriction)
    _add(root, "addresses", message.addresses)
    for code in message.codes:
        _add(root, "code", code)
    _add(root, "note", message.note)
    _add(root, "references", " ".join(reference_string(r.sender, r.identifier, r.sent) for r in message.references))
    _add(root, "incidents", join_quoted(message.incidents))
    for info in message.infos:
        _info(root, info)
    return root


def to_xml(message: CapMessage) -> bytes:
    """Return the message as a UTF-8 CAP 1.2 document with an XML declaration."""
    return etree.tostring(to_element(message), xml_declaration=True, encoding="UTF-8", pretty_print=True)
