"""Signed HTTP requests to a peer, under netguard's address rules, with one deadline per request.

Peers' addresses are typed by users (pairing), so a request never goes to loopback or the internal network unless
the operator allows private addresses (NGUON_CENTRAL_ALLOW_PRIVATE: two instances on one machine, an in-house
centre). No redirects: a peer that moved is re-paired. Errors carry fixed codes, never the peer's words.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from django.conf import settings

from nguon.central.federation import envelope, identity
from nguon.lib import netguard
from nguon.lib.signing import verify

MAX_ANSWER = 16 * 1024 * 1024
EVERYWHERE = [
    netguard.Rule(network=ipaddress.ip_network("0.0.0.0/0")),
    netguard.Rule(network=ipaddress.ip_network("::/0")),
]


class PeerError(Exception):
    """The exchange failed. `code`: refused, timeout, connect, tls, not_http, not_json, signature, status."""

    def __init__(self, code: str, detail: str = "", *, status: int = 0, answer: dict | None = None):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail
        self.status = status
        self.answer = answer or {}


@dataclass
class Answer:
    status: int
    data: dict


def allow_rules() -> list[netguard.Rule]:
    return EVERYWHERE if settings.CENTRAL_ALLOW_PRIVATE else []


def check_url(url: str) -> None:
    """Refuse now a base URL that requests could never reach (wrong scheme, internal address)."""
    try:
        target = netguard.parse_target(url)
        deadline = netguard._Deadline(settings.CENTRAL_TIMEOUT)
        addresses = netguard._resolve(target.host, target.port, netguard.system_resolver, deadline)
    except netguard.Refused as exc:
        raise PeerError("refused", exc.code) from None
    except netguard.Failed as exc:
        raise PeerError(exc.code) from None
    if not any(netguard.permitted(target.host, a, target.port, allow_rules()) for a in addresses):
        raise PeerError("refused", "address")


def call(base_url: str, method: str, path: str, *, query: dict | None = None, data: dict | None = None,
         peer_key: str | None = None, timeout: float | None = None) -> Answer:  # fmt: skip
    """Send a signed request; return the JSON answer. `peer_key`: verify the answer's signature with it.

    A 4xx answer with a JSON error body is returned (the caller reads the error code); anything else that is not a
    signed JSON object raises PeerError.
    """
    parts = urlsplit(base_url)
    full_path = parts.path.rstrip("/") + "/" + path.lstrip("/") + ("?" + urlencode(query) if query else "")
    url = f"{parts.scheme}://{parts.netloc}{full_path}"
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode() if data is not None else b""
    sender = identity.instance_id()
    headers = envelope.sign_request(identity.signer(), method, full_path, str(int(time.time())), sender, body)
    headers |= {"Content-Type": "application/json", "Accept": "application/json", "Connection": "close",
                "User-Agent": "Nguon-federation/1", "Content-Length": str(len(body))}  # fmt: skip
    status, content_type, answer_signature, raw = _exchange(
        url, method, headers, body, timeout or settings.CENTRAL_TIMEOUT
    )
    if content_type != "application/json":
        raise PeerError("not_json", f"HTTP {status}, {content_type or 'no content type'}", status=status)
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise PeerError("not_json", f"HTTP {status}", status=status) from None
    if not isinstance(parsed, dict):
        raise PeerError("not_json", f"HTTP {status}", status=status)
    if peer_key is not None and not _verify_answer(peer_key, status, headers[envelope.H_SIG], raw, answer_signature):
        raise PeerError("signature", f"HTTP {status}", status=status, answer=parsed)
    if status >= 500 or not 200 <= status < 500:
        raise PeerError("status", f"HTTP {status}", status=status, answer=parsed)
    return Answer(status, parsed)


def _verify_answer(peer_key, status, request_signature, raw, answer_signature) -> bool:
    return bool(answer_signature) and verify(peer_key, envelope.answer_payload(status, request_signature, raw),
                                             answer_signature)  # fmt: skip


def _exchange(url: str, method: str, headers: dict, body: bytes, timeout: float):
    deadline = netguard._Deadline(timeout)
    try:
        target = netguard.parse_target(url)
        addresses = netguard._resolve(target.host, target.port, netguard.system_resolver, deadline)
        allowed = [a for a in addresses if netguard.permitted(target.host, a, target.port, allow_rules())]
        if not allowed:
            raise PeerError("refused", "address")
        sock = netguard._open(target, allowed[0], deadline, None)
    except netguard.Refused as exc:
        raise PeerError("refused", exc.code) from None
    except netguard.Failed as exc:
        raise PeerError(exc.code) from None
    # A watchdog closes the socket at the deadline whatever the peer does (a peer that sends a byte a minute).
    watchdog = threading.Timer(deadline.left(), netguard._shut, args=(sock,))
    watchdog.daemon = True
    watchdog.start()
    connection = netguard._PinnedConnection(sock, timeout=deadline.left())
    try:
        connection.putrequest(method, target.path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", target.host_header)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders(body or None)
        response = connection.getresponse()
        content_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        signature = response.getheader(envelope.H_SIG) or ""
        raw = response.read(MAX_ANSWER + 1)
        if time.monotonic() >= deadline.at:
            raise PeerError("timeout")
        if len(raw) > MAX_ANSWER:
            raise PeerError("not_json", "answer too large", status=response.status)
        return response.status, content_type, signature, raw
    except TimeoutError:
        raise PeerError("timeout") from None
    except (http.client.HTTPException, ValueError, UnicodeError):
        raise PeerError("timeout" if time.monotonic() >= deadline.at else "not_http") from None
    except OSError:
        raise PeerError("timeout" if time.monotonic() >= deadline.at else "connect") from None
    finally:
        watchdog.cancel()
        connection.close()
