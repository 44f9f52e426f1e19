"""The OASIS CAP 1.2 message as plain dataclasses, and the closed vocabularies of the standard.

Optional text is "" when absent, optional times and numbers are None. Times are aware datetimes. Coordinates are
(lat, lon) in WGS 84 decimal degrees, in that order, as CAP writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
# Older namespaces still seen in feeds; CAP 1.0 used a namespace outside OASIS.
NAMESPACE_1_1 = "urn:oasis:names:tc:emergency:cap:1.1"
NAMESPACES_1_0 = ("http://www.incident.com/cap/1.0", "urn:oasis:names:tc:emergency:cap:1.0")
MIME_TYPE = "application/cap+xml"

# Vietnam has had no daylight saving time since 1975, so a fixed offset is exact and needs no tz database.
VIETNAM_TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")

STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
SCOPES = ("Public", "Restricted", "Private")
CATEGORIES = (
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
)
RESPONSE_TYPES = ("Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None")
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
# CAP 1.0 also had "Very Likely"; CAP 1.1 deprecated it and 1.2 removed it. The parser maps it to "Likely".
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")
DEPRECATED_CERTAINTIES = {"Very Likely": "Likely"}

# msgTypes that point at earlier messages and so must carry <references>.
REFERENCING_MSG_TYPES = ("Update", "Cancel", "Ack", "Error")


@dataclass(kw_only=True)
class Reference:
    """One earlier message, as "sender,identifier,sent" in <references>."""

    sender: str
    identifier: str
    sent: str


@dataclass(kw_only=True)
class Resource:
    resource_desc: str
    mime_type: str
    size: int | None = None
    uri: str = ""
    deref_uri: str = ""
    digest: str = ""


@dataclass(kw_only=True)
class Area:
    area_desc: str
    polygons: list[list[tuple[float, float]]] = field(default_factory=list)  # closed rings of (lat, lon)
    circles: list[tuple[float, float, float]] = field(default_factory=list)  # (lat, lon, radius_km)
    geocodes: list[tuple[str, str]] = field(default_factory=list)  # (valueName, value)
    altitude: float | None = None  # feet above mean sea level, as the standard says
    ceiling: float | None = None


@dataclass(kw_only=True)
class Info:
    language: str = "en-US"  # "" when a received info had no <language>: it means en-US (language_of says so)
    categories: list[str]
    event: str
    response_types: list[str] = field(default_factory=list)
    urgency: str
    severity: str
    certainty: str
    audience: str = ""
    event_codes: list[tuple[str, str]] = field(default_factory=list)
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str = ""
    headline: str = ""
    description: str = ""
    instruction: str = ""
    web: str = ""
    contact: str = ""
    parameters: list[tuple[str, str]] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    areas: list[Area] = field(default_factory=list)


def language_of(info: Info) -> str:
    """The info's language, with the standard's default (en-US) when it named none."""
    return info.language or "en-US"


@dataclass(kw_only=True)
class CapMessage:
    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    source: str = ""
    scope: str
    restriction: str = ""
    addresses: str = ""
    codes: list[str] = field(default_factory=list)
    note: str = ""
    references: list[Reference] = field(default_factory=list)
    incidents: list[str] = field(default_factory=list)
    infos: list[Info] = field(default_factory=list)
