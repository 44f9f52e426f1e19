"""Read CAP documents as real feeds write them: lenient where meaning is clear, strict where safety needs it.

Whatever can be repaired without guessing (old namespaces, element order, a missing time zone, an unclosed polygon)
is repaired and reported as a warning. What would change who is alerted, or where, is rejected with CapError.
Messages for every problem code are in problems.MESSAGES.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import NamedTuple
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as safe_et

from nguon.lib import geo

from . import model
from .model import Area, CapMessage, Info, Reference, Resource
from .problems import CapError, Problem, problem

MAX_BYTES = 2 * 1024 * 1024
MAX_POLYGON_POINTS = 10_000
MAX_AREA_KM2 = 100_000.0
MAX_RADIUS_KM = 300.0

XMLDSIG_NAMESPACE = "http://www.w3.org/2000/09/xmldsig#"

# The sequences of the schema: children are read in any order but must be written in this one.
ALERT_ORDER = ["identifier", "sender", "sent", "status", "msgType", "source", "scope", "restriction", "addresses"]
ALERT_ORDER += ["code", "note", "references", "incidents", "info"]
INFO_ORDER = ["language", "category", "event", "responseType", "urgency", "severity", "certainty", "audience"]
INFO_ORDER += ["eventCode", "effective", "onset", "expires", "senderName", "headline", "description", "instruction"]
INFO_ORDER += ["web", "contact", "parameter", "resource", "area"]
RESOURCE_ORDER = ["resourceDesc", "mimeType", "size", "uri", "derefUri", "digest"]
AREA_ORDER = ["areaDesc", "polygon", "circle", "geocode", "altitude", "ceiling"]
PAIR_ORDER = ["valueName", "value"]
REPEATABLE = {"code", "info", "category", "responseType", "eventCode", "parameter", "resource", "area", "polygon"}
REPEATABLE |= {"circle", "geocode"}

# Identifiers and senders are joined with commas and spaces in <references>, so the standard forbids those.
_FORBIDDEN_ID_CHARS = re.compile(r"[\s,<&]")
_TIME = re.compile(r"^(\d{4})-(\d\d)-(\d\d)([T ])(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?$")
_CIRCLE = re.compile(r"^(\S+?)\s*,\s*(\S+)\s+(\S+)$")

Found = dict[str, list[Element]]


class ParseResult(NamedTuple):
    message: CapMessage
    warnings: list[Problem]


def parse(data: bytes) -> ParseResult:
    """Parse a CAP 1.2 (or 1.1/1.0) document; raise CapError listing every problem that cannot be repaired."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_BYTES:
        raise CapError([problem("too_large", size=len(data), limit=MAX_BYTES)])
    try:
        # DTDs are refused outright: no CAP document needs one, and it is where entity bombs and external
        # entities (file:///etc/passwd) live. The refusal comes before anything is expanded or fetched.
        root = safe_et.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        raise CapError([problem("forbidden_xml", detail=type(exc).__name__)])
    except (ParseError, ValueError) as exc:
        raise CapError([problem("not_xml", detail=str(exc))])
    reader = _Reader()
    message = reader.alert(root)
    if reader.errors:
        raise CapError(reader.errors)
    return ParseResult(message, reader.warnings)


def split_quoted(text: str) -> list[str]:
    """Split a space-delimited CAP list in which items containing spaces are in double quotes."""
    return [quoted or plain for quoted, plain in re.findall(r'"([^"]*)"|(\S+)', text)]


def _split_name(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def _text(element: Element) -> str:
    return "".join(element.itertext()).strip()


class _Reader:
    def __init__(self) -> None:
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.namespace = ""

    def error(self, key: str, path: str, **params: object) -> None:
        self.errors.append(problem(key, path, **params))

    def warn(self, key: str, path: str, **params: object) -> None:
        self.warnings.append(problem(key, path, **params))

    # ----------------------------------------------------------------------------------------------------------
    # Values

    def children(self, element: Element, path: str, order: list[str]) -> Found:
        """Group the CAP children by name, warning about unknown, misplaced and duplicated ones."""
        found: Found = {}
        positions: list[int] = []
        for child in element:
            if not isinstance(child.tag, str):
                continue  # comments and processing instructions
            namespace, name = _split_name(child.tag)
            if namespace == XMLDSIG_NAMESPACE:
                continue  # a signature is allowed by the schema and does not change the content
            if namespace not in (self.namespace, "") or name not in order:
                self.warn("unknown_element", path, element=name)
                continue
            found.setdefault(name, []).append(child)
            positions.append(order.index(name))
        if positions != sorted(positions):
            self.warn("out_of_order", path, element=path.rsplit("/", 1)[-1])
        for name, elements in found.items():
            if len(elements) > 1 and name not in REPEATABLE:
                self.warn("duplicate_element", f"{path}/{name}", element=name)
        return found

    def single(self, found: Found, name: str) -> str:
        elements = found.get(name)
        return _text(elements[0]) if elements else ""

    def required(self, found: Found, name: str, path: str) -> str:
        value = self.single(found, name)
        if not value:
            self.error("missing_element", f"{path}/{name}", element=name)
        return value

    def assumed(self, found: Found, name: str, path: str, default: str) -> str:
        value = self.single(found, name)
        if not value:
            self.warn("missing_element/assumed", f"{path}/{name}", element=name, replacement=default or '""')
            return default
        return value

    def enum(self, value: str, allowed: tuple[str, ...], name: str, path: str) -> str | None:
        """Return the standard spelling of value, warning when it was spelled otherwise; None if not allowed."""
        if value in allowed:
            return value
        key = value.replace(" ", "").lower()
        for candidate in allowed:
            if candidate.lower() == key:
                self.warn("value_spelling", path, element=name, value=value, replacement=candidate)
                return candidate
        return None

    def enum_or(self, value: str, allowed: tuple[str, ...], name: str, path: str, fallback: str) -> str:
        found = self.enum(value, allowed, name, path)
        if found is None:
            self.warn("unknown_value", path, element=name, value=value, replacement=fallback)
            return fallback
        return found

    def closed(self, found: Found, name: str, allowed: tuple[str, ...], path: str, code: str) -> str | None:
        text = self.required(found, name, path)
        value = self.enum(text, allowed, name, f"{path}/{name}") if text else None
        if text and value is None:
            self.error(code, f"{path}/{name}", value=text, allowed=", ".join(allowed))
        return value

    def time(self, text: str, name: str, path: str, *, required: bool = False) -> datetime | None:
        report = self.error if required else self.warn
        match = _TIME.match(text)
        if not match:
            report("invalid_time", path, value=text, element=name)
            return None
        year, month, day, separator, hour, minute, second, fraction, zone = match.groups()
        issues = []
        if separator == " ":
            issues.append("a space instead of T")
        if fraction:
            issues.append("fractional seconds, dropped")
        if zone is None:
            tz: timezone = model.VIETNAM_TZ
            self.warn("time_without_zone", path, value=text)
        elif zone == "Z":
            tz = UTC
            issues.append("Z instead of +00:00")
        else:
            if ":" not in zone:
                issues.append("an offset without a colon")
            digits = zone[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            # CAP spells UTC -00:00; a sender writing +00:00 gets it back as written (build.format_time).
            if not offset:
                tz = timezone(offset, zone[0] + "00:00")
            else:
                tz = timezone(-offset if zone[0] == "-" else offset)
        if issues:
            self.warn("time_format", path, value=text, detail=", ".join(issues))
        try:
            return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=tz)
        except ValueError:
            report("invalid_time", path, value=text, element=name)
            return None

    def optional_time(self, found: Found, name: str, path: str) -> datetime | None:
        text = self.single(found, name)
        return self.time(text, name, f"{path}/{name}") if text else None

    def number(self, found: Found, name: str, path: str) -> float | None:
        text = self.single(found, name)
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            self.warn("invalid_number", f"{path}/{name}", element=name, value=text)
            return None
        return value

    def pairs(self, found: Found, name: str, path: str) -> list[tuple[str, str]]:
        result = []
        for i, element in enumerate(found.get(name, []), 1):
            pair = self.children(element, f"{path}/{name}[{i}]", PAIR_ORDER)
            value_name, value = self.single(pair, "valueName"), self.single(pair, "value")
            if not value_name:
                self.warn("missing_element/value_name", f"{path}/{name}[{i}]", element=name)
            result.append((value_name, value))
        return result

    # ----------------------------------------------------------------------------------------------------------
    # Elements

    def alert(self, root: Element) -> CapMessage:
        namespace, name = _split_name(root.tag)
        if name != "alert":
            raise CapError([problem("not_cap", name, element=name)])
        self.namespace = namespace
        if namespace == model.NAMESPACE_1_1 or namespace in model.NAMESPACES_1_0:
            self.warn("old_version", "alert", version="1.1" if namespace == model.NAMESPACE_1_1 else "1.0")
        elif not namespace:
            self.warn("no_namespace", "alert")
        elif namespace != model.NAMESPACE:
            self.warn("unknown_namespace", "alert", namespace=namespace)

        path = "alert"
        found = self.children(root, path, ALERT_ORDER)
        identifier = self.required(found, "identifier", path)
        sender = self.required(found, "sender", path)
        for field_name, value in (("identifier", identifier), ("sender", sender)):
            if _FORBIDDEN_ID_CHARS.search(value):
                self.error(f"invalid_{field_name}", f"{path}/{field_name}", value=value)
        sent_text = self.required(found, "sent", path)
        sent = self.time(sent_text, "sent", f"{path}/sent", required=True) if sent_text else None
        status = self.closed(found, "status", model.STATUSES, path, "invalid_status")
        msg_type = self.closed(found, "msgType", model.MSG_TYPES, path, "invalid_msg_type")
        scope_text = self.assumed(found, "scope", path, "Public")
        scope = self.enum(scope_text, model.SCOPES, "scope", f"{path}/scope")
        if scope is None:
            self.error("invalid_scope", f"{path}/scope", value=scope_text, allowed=", ".join(model.SCOPES))
        references = []
        for entry in self.single(found, "references").split():
            parts = entry.split(",")
            if len(parts) != 3 or not all(parts):
                self.error("invalid_references", f"{path}/references", value=entry)
            else:
                references.append(Reference(sender=parts[0], identifier=parts[1], sent=parts[2]))
        if msg_type in model.REFERENCING_MSG_TYPES and not references:
            self.error("missing_references", f"{path}/references", msg_type=msg_type)
        return CapMessage(
            identifier=identifier,
            sender=sender,
            sent=sent or datetime.min.replace(tzinfo=UTC),  # only when an error is raised anyway
            status=status or "",
            msg_type=msg_type or "",
            source=self.single(found, "source"),
            scope=scope or "",
            restriction=self.single(found, "restriction"),
            addresses=self.single(found, "addresses"),
            codes=[text for text in (_text(e) for e in found.get("code", [])) if text],
            note=self.single(found, "note"),
            references=references,
            incidents=split_quoted(self.single(found, "incidents")),
            infos=[self.info(e, f"{path}/info[{i}]") for i, e in enumerate(found.get("info", []), 1)],
        )

    def info(self, element: Element, path: str) -> Info:
        found = self.children(element, path, INFO_ORDER)
        categories = [
            self.enum_or(_text(e), model.CATEGORIES, "category", f"{path}/category[{i}]", "Other")
            for i, e in enumerate(found.get("category", []), 1)
        ]
        if not categories:
            self.warn("missing_element/assumed", f"{path}/category", element="category", replacement="Other")
            categories = ["Other"]
        response_types = []
        for i, e in enumerate(found.get("responseType", []), 1):
            value = self.enum(_text(e), model.RESPONSE_TYPES, "responseType", f"{path}/responseType[{i}]")
            if value is None:
                self.warn("unknown_value/ignored", f"{path}/responseType[{i}]", element="responseType", value=_text(e))
            else:
                response_types.append(value)
        certainty = self.assumed(found, "certainty", path, "Unknown")
        if certainty in model.DEPRECATED_CERTAINTIES:
            replacement = model.DEPRECATED_CERTAINTIES[certainty]
            self.warn(
                "deprecated_value", f"{path}/certainty", element="certainty", value=certainty, replacement=replacement
            )
            certainty = replacement
        urgency = self.assumed(found, "urgency", path, "Unknown")
        severity = self.assumed(found, "severity", path, "Unknown")
        return Info(
            # Absent means en-US (the standard's default); kept absent, so that it is written back as it came.
            language=self.single(found, "language"),
            categories=categories,
            event=self.assumed(found, "event", path, ""),
            response_types=response_types,
            urgency=self.enum_or(urgency, model.URGENCIES, "urgency", f"{path}/urgency", "Unknown"),
            severity=self.enum_or(severity, model.SEVERITIES, "severity", f"{path}/severity", "Unknown"),
            certainty=self.enum_or(certainty, model.CERTAINTIES, "certainty", f"{path}/certainty", "Unknown"),
            audience=self.single(found, "audience"),
            event_codes=self.pairs(found, "eventCode", path),
            effective=self.optional_time(found, "effective", path),
            onset=self.optional_time(found, "onset", path),
            expires=self.optional_time(found, "expires", path),
            sender_name=self.single(found, "senderName"),
            headline=self.single(found, "headline"),
            description=self.single(found, "description"),
            instruction=self.single(found, "instruction"),
            web=self.single(found, "web"),
            contact=self.single(found, "contact"),
            parameters=self.pairs(found, "parameter", path),
            resources=[self.resource(e, f"{path}/resource[{i}]") for i, e in enumerate(found.get("resource", []), 1)],
            areas=[self.area(e, f"{path}/area[{i}]") for i, e in enumerate(found.get("area", []), 1)],
        )

    def resource(self, element: Element, path: str) -> Resource:
        found = self.children(element, path, RESOURCE_ORDER)
        size = self.number(found, "size", path)
        if size is not None and (size < 0 or size != int(size)):
            self.warn("invalid_number", f"{path}/size", element="size", value=self.single(found, "size"))
            size = None
        return Resource(
            resource_desc=self.assumed(found, "resourceDesc", path, ""),
            mime_type=self.assumed(found, "mimeType", path, "application/octet-stream"),
            size=None if size is None else int(size),
            uri=self.single(found, "uri"),
            deref_uri=self.single(found, "derefUri"),
            digest=self.single(found, "digest"),
        )

    def area(self, element: Element, path: str) -> Area:
        found = self.children(element, path, AREA_ORDER)
        polygons = [self.polygon(_text(e), f"{path}/polygon[{i}]") for i, e in enumerate(found.get("polygon", []), 1)]
        circles = [self.circle(_text(e), f"{path}/circle[{i}]") for i, e in enumerate(found.get("circle", []), 1)]
        return Area(
            area_desc=self.assumed(found, "areaDesc", path, ""),
            polygons=[ring for ring in polygons if ring is not None],
            circles=[circle for circle in circles if circle is not None],
            geocodes=self.pairs(found, "geocode", path),
            altitude=self.number(found, "altitude", path),
            ceiling=self.number(found, "ceiling", path),
        )

    def polygon(self, text: str, path: str) -> list[tuple[float, float]] | None:
        if not text:
            self.warn("empty_element", path, element="polygon")
            return None
        ring = []
        # Some producers write "lat, lon"; joining around commas first keeps the points whitespace-separated.
        for token in re.sub(r"\s*,\s*", ",", text).split():
            parts = token.split(",")
            try:
                lat, lon = (float(p) for p in parts) if len(parts) == 2 else (math.nan, math.nan)
            except ValueError:
                lat = lon = math.nan
            if not (math.isfinite(lat) and math.isfinite(lon)):
                self.error("invalid_polygon", path, value=token)
                return None
            if not geo.is_valid_point(lat, lon):
                self.error("coordinate_out_of_range", path, lat=lat, lon=lon)
                return None
            ring.append((lat, lon))
        if ring[0] != ring[-1]:
            self.warn("polygon_not_closed", path)
            ring.append(ring[0])
        if len(ring) < 4:
            self.error("polygon_too_few_points", path, count=len(ring))
            return None
        codes = geo.check_polygon(ring, max_points=MAX_POLYGON_POINTS, max_area_km2=MAX_AREA_KM2)
        if "too_many_points" in codes:
            self.error("polygon_too_many_points", path, count=len(ring), limit=MAX_POLYGON_POINTS)
            return None
        if "area_too_large" in codes:
            self.error("area_too_large", path, area=round(geo.polygon_area_km2(ring)), limit=round(MAX_AREA_KM2))
            return None
        if "self_crossing" in codes:
            self.warn("polygon_self_crossing", path)
        return ring

    def circle(self, text: str, path: str) -> tuple[float, float, float] | None:
        if not text:
            self.warn("empty_element", path, element="circle")
            return None
        match = _CIRCLE.match(text)
        try:
            lat, lon, radius = (float(g) for g in match.groups()) if match else (math.nan,) * 3
        except ValueError:
            lat = lon = radius = math.nan
        if not all(math.isfinite(v) for v in (lat, lon, radius)) or radius < 0:
            self.error("invalid_circle", path, value=text)
            return None
        if not geo.is_valid_point(lat, lon):
            self.error("coordinate_out_of_range", path, lat=lat, lon=lon)
            return None
        if radius == 0:
            # The standard's own earthquake example marks an epicentre this way, so it is read, not refused.
            self.warn("circle_zero_radius", path, value=text)
        if "radius_too_large" in geo.check_circle((lat, lon, radius), max_radius_km=MAX_RADIUS_KM):
            self.error("area_too_large/circle", path, radius=radius, limit=MAX_RADIUS_KM)
            return None
        return lat, lon, radius
