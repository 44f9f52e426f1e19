"""GeoReport v2 documents in XML and JSON, one structure for both (the spec's "Spark convention").

A document is a Python value: a dict becomes child elements, a list becomes repeated elements named by ITEM_NAMES
(`services` holds `service`s, a top-level request list holds `request`s), None an empty element in XML and null in
JSON, booleans true/false. XML is schemaless, without a namespace, UTF-8 with its declaration, as the spec asks.
"""

from __future__ import annotations

import json
import re
from xml.etree.ElementTree import Element, SubElement, tostring

from django.http import HttpResponse

XML_TYPE = "text/xml; charset=utf-8"
JSON_TYPE = "application/json; charset=utf-8"
FORMATS = ("xml", "json")

# The element each list's items get, by the list's own name.
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
}

# Characters XML 1.0 cannot carry at all (stored text is checked on input; names from the admin are not).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(parent: Element, name: str, value) -> None:
    if isinstance(value, dict):
        element = SubElement(parent, name)
        for key, item in value.items():
            _fill(element, key, item)
    elif isinstance(value, list | tuple):
        element = SubElement(parent, name)
        for item in value:
            _fill(element, ITEM_NAMES[name], item)
    else:
        element = SubElement(parent, name)
        element.text = _text(value)


def to_xml(root: str, document) -> bytes:
    """The XML form of `document` under the root element `root` (a list's items named after the root)."""
    element = Element(root)
    if isinstance(document, dict):
        for key, value in document.items():
            _fill(element, key, value)
    else:
        for item in document:
            _fill(element, ITEM_NAMES[root], item)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + tostring(element, encoding="unicode").encode("utf-8")


def _clean_json(value):
    if isinstance(value, dict):
        return {key: _clean_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_json(item) for item in value]
    if isinstance(value, str):
        return _NOT_XML.sub("", value)
    return value


def to_json(document) -> bytes:
    return json.dumps(_clean_json(document), ensure_ascii=False).encode("utf-8")


def respond(fmt: str, root: str, document, *, status: int = 200) -> HttpResponse:
    """The document in the asked format: XML under `root`, JSON as is."""
    if fmt == "json":
        response = HttpResponse(to_json(document), content_type=JSON_TYPE, status=status)
    else:
        response = HttpResponse(to_xml(root, document), content_type=XML_TYPE, status=status)
    # Partner apps and their caches must not keep answers that change with every status step.
    response["Cache-Control"] = "no-cache"
    return response


def errors(fmt: str, status: int, messages, *, code: int | None = None) -> HttpResponse:
    """The spec's error list: every message with the same code (the HTTP status unless told)."""
    if isinstance(messages, str):
        messages = [messages]
    document = [{"code": code or status, "description": str(message)} for message in messages]
    return respond(fmt, "errors", document, status=status)
