"""Validate documents against the official OASIS CAP 1.2 XML Schema (schema/CAP-v1.2.xsd)."""

from __future__ import annotations

import functools
import threading
from pathlib import Path

from lxml import etree

SCHEMA_PATH = Path(__file__).with_name("schema") / "CAP-v1.2.xsd"
# The schema object keeps the error log of its last run, so a validation and the reading of its errors must not
# interleave with another thread's.
_lock = threading.Lock()


@functools.cache
def _schema() -> etree.XMLSchema:
    # Parsed once per process: building the schema costs far more than validating one alert.
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH), _safe_parser()))


def _safe_parser() -> etree.XMLParser:
    # No entity expansion, no DTD loading, no network: the input may come from anywhere.
    return etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False)


def validate(xml: bytes) -> list[str]:
    """Return the schema errors of a document, "line N: message" each; an empty list means valid."""
    try:
        document = etree.fromstring(xml, _safe_parser())
    except etree.XMLSyntaxError as exc:
        return [f"line {exc.lineno}: not well-formed XML: {exc.msg}"]
    schema = _schema()
    with _lock:
        if schema.validate(document):
            return []
        return [f"line {error.line}: {error.message}" for error in schema.error_log]
