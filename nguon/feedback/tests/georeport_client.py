"""A small Open311 GeoReport v2 client, written from the specification alone (wiki.open311.org/GeoReport_v2 and
wiki.open311.org/Service_Discovery), not from our server's code: the tests use it to check that a client that
knows only the spec can work with us.

It reads the discovery document, picks the production GeoReport v2 endpoint, and speaks XML or JSON. XML is turned
into the same Python values as JSON by the spec's "Spark convention": a list element holds repeated items, a leaf
is its text (an empty element is None), and the documented booleans and coordinates get their types.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

from defusedxml import ElementTree

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
MIME = {"xml": "text/xml", "json": "application/json"}
# Elements that hold a list of items in the spec's documents.
LISTS = {"services", "service_requests", "errors", "endpoints", "formats", "attributes", "values"}
BOOLEANS = {"metadata", "variable", "required"}
NUMBERS = {"lat", "long", "order"}


class GeoReportError(Exception):
    """An error answer: the HTTP status and the (code, description) pairs of the spec's error list."""

    def __init__(self, status: int, errors: list[tuple[str, str]]):
        self.status = status
        self.errors = errors
        super().__init__(f"HTTP {status}: " + "; ".join(description for _code, description in errors))


def _value(element):
    if element.tag in LISTS:
        return [_value(child) for child in element]
    if len(element):
        return {child.tag: _value(child) for child in element}
    text = element.text.strip() if element.text and element.text.strip() else None
    if text is not None and element.tag in BOOLEANS:
        return text == "true"
    if text is not None and element.tag in NUMBERS:
        return float(text) if element.tag != "order" else int(text)
    return text


def parse(body: bytes, fmt: str):
    """The document in an answer body, as Python values (XML mapped the Spark way)."""
    if fmt == "json":
        return json.loads(body.decode("utf-8"))
    return _value(ElementTree.fromstring(body))


class GeoReportClient:
    def __init__(self, discovery_url: str, fmt: str = "json", *, timeout: float = 10.0, language: str = "en"):
        self.discovery_url = discovery_url
        self.fmt = fmt
        self.timeout = timeout
        self.language = language
        self.base = ""
        self.jurisdiction_id = ""

    # Transport

    def _call(self, url: str, *, fmt: str | None = None, form: dict | None = None):
        fmt = fmt or self.fmt
        data = None
        headers = {"Accept": MIME[fmt], "Accept-Language": self.language}
        if form is not None:
            # "POST Service Request: Content-Type: application/x-www-form-urlencoded; charset=utf-8"
            data = urllib.parse.urlencode(form).encode("utf-8")
            headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
        request = urllib.request.Request(url, data=data, headers=headers, method="POST" if form is not None else "GET")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (a test's own server)
                content_type = response.headers.get("Content-Type", "")
                if not content_type.startswith(MIME[fmt]) or "charset=utf-8" not in content_type.lower():
                    raise GeoReportError(response.status, [("client", f"unexpected Content-Type {content_type}")])
                return parse(response.read(), fmt)
        except urllib.error.HTTPError as exc:
            body = exc.read()
            try:
                errors = [(str(e["code"]), e["description"]) for e in parse(body, fmt)]
            except (ValueError, TypeError, KeyError, ElementTree.ParseError):
                errors = [("client", body[:200].decode("utf-8", "replace"))]
            raise GeoReportError(exc.code, errors) from None

    def _url(self, resource: str, query: dict | None = None) -> str:
        query = {key: value for key, value in (query or {}).items() if value not in (None, "")}
        if self.jurisdiction_id:
            query.setdefault("jurisdiction_id", self.jurisdiction_id)
        suffix = "?" + urllib.parse.urlencode(query) if query else ""
        return f"{self.base}/{resource}.{self.fmt}{suffix}"

    # Service discovery

    def discover(self) -> dict:
        """Read the discovery document and choose the production GeoReport v2 endpoint that speaks our format."""
        document = self._call(self.discovery_url, fmt="json" if self.discovery_url.endswith(".json") else "xml")
        for endpoint in document["endpoints"]:
            if (
                endpoint["specification"] == SPECIFICATION
                and endpoint["type"] == "production"
                and MIME[self.fmt] in endpoint["formats"]
            ):
                self.base = endpoint["url"].rstrip("/")
                return document
        raise GeoReportError(0, [("client", "no production GeoReport v2 endpoint for this format")])

    # The six methods

    def services(self) -> list[dict]:
        return self._call(self._url("services"))

    def service_definition(self, service_code: str) -> dict:
        return self._call(self._url(f"services/{urllib.parse.quote(service_code, safe='')}"))

    def submit(self, api_key: str, service_code: str, *, attributes: dict | None = None, **fields) -> dict:
        """POST a service request; `fields` are the spec's arguments (lat, long, address_string, description, …)."""
        form = {"api_key": api_key, "service_code": service_code}
        if self.jurisdiction_id:
            form["jurisdiction_id"] = self.jurisdiction_id
        form.update({key: value for key, value in fields.items() if value is not None})
        for code, value in (attributes or {}).items():
            form[f"attribute[{code}]"] = value
        answer = self._call(f"{self.base}/requests.{self.fmt}", form=form)
        return answer[0]

    def token(self, token: str) -> dict:
        return self._call(self._url(f"tokens/{urllib.parse.quote(token, safe='')}"))[0]

    def requests(self, **filters) -> list[dict]:
        """GET service requests; lists (service_request_id, service_code, status) are sent comma-delimited."""
        query = {key: ",".join(value) if isinstance(value, list | tuple) else value for key, value in filters.items()}
        return self._call(self._url("requests", query))

    def request(self, service_request_id: str) -> dict:
        return self._call(self._url(f"requests/{urllib.parse.quote(service_request_id, safe='')}"))[0]
