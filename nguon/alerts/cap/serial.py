"""A CapMessage as JSON-ready data and back, so that a received message can be stored and written out as it came.

Every element the parser reads is kept: all infos in all languages, each info's own areas, parameters, event codes,
resources, references. Times are kept as the text of the document (with the sender's offset, and -00:00 apart from
+00:00), so a message received with "2026-11-26T08:00:00-05:00" is written back with exactly that.

`clean` drops the characters XML cannot carry from every text of a message: writers of public documents call it so
that one bad stored value cannot take a feed down.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Any

from nguon.lib.xmltext import strip_forbidden

from .build import format_time
from .model import Area, CapMessage, Info, Reference, Resource

VERSION = 1


def parse_time(text: str) -> datetime:
    """Read a time written by format_time (2026-11-26T08:00:00+07:00), keeping how a zero offset was spelled."""
    value = datetime.fromisoformat(text)
    if value.utcoffset() == timedelta(0) and text[-6:] in ("+00:00", "-00:00"):
        value = value.replace(tzinfo=timezone(timedelta(0), text[-6:]))
    return value


def _time(value: datetime | None) -> str | None:
    return None if value is None else format_time(value)


def _untime(text: str | None) -> datetime | None:
    return None if not text else parse_time(text)


def _pairs(pairs) -> list[list[str]]:
    return [[name, value] for name, value in pairs]


def _area_data(area: Area) -> dict:
    return {
        "area_desc": area.area_desc,
        "polygons": [[[lat, lon] for lat, lon in ring] for ring in area.polygons],
        "circles": [[lat, lon, radius] for lat, lon, radius in area.circles],
        "geocodes": _pairs(area.geocodes),
        "altitude": area.altitude,
        "ceiling": area.ceiling,
    }


def _info_data(info: Info) -> dict:
    data = {f.name: getattr(info, f.name) for f in dataclasses.fields(Info)}
    data.update(
        event_codes=_pairs(info.event_codes),
        parameters=_pairs(info.parameters),
        effective=_time(info.effective),
        onset=_time(info.onset),
        expires=_time(info.expires),
        resources=[dataclasses.asdict(r) for r in info.resources],
        areas=[_area_data(a) for a in info.areas],
        categories=list(info.categories),
        response_types=list(info.response_types),
    )
    return data


def to_data(message: CapMessage) -> dict:
    """Return the message as JSON-ready data (what `Alert.received` holds)."""
    data = {f.name: getattr(message, f.name) for f in dataclasses.fields(CapMessage)}
    data.update(
        version=VERSION,
        sent=_time(message.sent),
        codes=list(message.codes),
        references=[dataclasses.asdict(r) for r in message.references],
        incidents=list(message.incidents),
        infos=[_info_data(i) for i in message.infos],
    )
    return data


def _area(data: dict) -> Area:
    return Area(
        area_desc=data["area_desc"],
        polygons=[[(float(lat), float(lon)) for lat, lon in ring] for ring in data["polygons"]],
        circles=[(float(lat), float(lon), float(radius)) for lat, lon, radius in data["circles"]],
        geocodes=[(name, value) for name, value in data["geocodes"]],
        altitude=data.get("altitude"),
        ceiling=data.get("ceiling"),
    )


def _info(data: dict) -> Info:
    plain = {f.name: data[f.name] for f in dataclasses.fields(Info) if f.name in data}
    plain.update(
        event_codes=[(name, value) for name, value in data["event_codes"]],
        parameters=[(name, value) for name, value in data["parameters"]],
        effective=_untime(data.get("effective")),
        onset=_untime(data.get("onset")),
        expires=_untime(data.get("expires")),
        resources=[Resource(**r) for r in data["resources"]],
        areas=[_area(a) for a in data["areas"]],
    )
    return Info(**plain)


def from_data(data: dict) -> CapMessage:
    """Return the message `to_data` wrote."""
    plain = {f.name: data[f.name] for f in dataclasses.fields(CapMessage) if f.name in data}
    plain.update(
        sent=parse_time(data["sent"]),
        references=[Reference(**r) for r in data["references"]],
        infos=[_info(i) for i in data["infos"]],
    )
    return CapMessage(**plain)


def _clean(value: Any) -> tuple[Any, bool]:
    if isinstance(value, str):
        cleaned = strip_forbidden(value)
        return cleaned, cleaned != value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes, dirty = {}, False
        for f in dataclasses.fields(value):
            new, changed = _clean(getattr(value, f.name))
            if changed:
                changes[f.name], dirty = new, True
        return (dataclasses.replace(value, **changes) if dirty else value), dirty
    if isinstance(value, list | tuple):
        items = [_clean(item) for item in value]
        if not any(changed for _item, changed in items):
            return value, False
        return type(value)(item for item, _changed in items), True
    return value, False


def clean(message: CapMessage) -> tuple[CapMessage, bool]:
    """Return the message without the characters XML cannot carry, and whether any were dropped."""
    return _clean(message)
