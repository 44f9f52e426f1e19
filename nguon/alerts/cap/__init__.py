"""OASIS Common Alerting Protocol 1.2: parse, build, validate and syndicate alert messages. No Django models here."""

from .build import format_time, reference_string, to_xml
from .feed import FeedEntry, atom_feed, feed_problems, main_infos, pick_info
from .model import (
    CATEGORIES,
    CERTAINTIES,
    MIME_TYPE,
    MSG_TYPES,
    NAMESPACE,
    RESPONSE_TYPES,
    SCOPES,
    SEVERITIES,
    STATUSES,
    URGENCIES,
    VIETNAM_TZ,
    Area,
    CapMessage,
    Info,
    Reference,
    Resource,
    language_of,
)
from .parse import MAX_BYTES, ParseResult, parse
from .problems import CapError, Problem
from .validate import validate

__all__ = [
    "CATEGORIES",
    "CERTAINTIES",
    "MAX_BYTES",
    "MIME_TYPE",
    "MSG_TYPES",
    "NAMESPACE",
    "RESPONSE_TYPES",
    "SCOPES",
    "SEVERITIES",
    "STATUSES",
    "URGENCIES",
    "VIETNAM_TZ",
    "Area",
    "CapError",
    "CapMessage",
    "FeedEntry",
    "Info",
    "ParseResult",
    "Problem",
    "Reference",
    "Resource",
    "atom_feed",
    "feed_problems",
    "format_time",
    "language_of",
    "main_infos",
    "parse",
    "pick_info",
    "reference_string",
    "to_xml",
    "validate",
]
