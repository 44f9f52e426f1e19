"""Signed HTTP requests to a peer, under netguard's address rules, with one deadline per request.

Peers' addresses are typed by users (pairing), so a request never goes to loopback or the internal network unless
the operator allows private addresses (NGUON_CENTRAL_ALLOW_PRIVATE: two instances on one machine, an in-house
centre). No redirects: a peer that moved is re-paired. Errors carry fixed codes, never the peer's words.
"""

from __future__ import annotations

import ipaddress
import json
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
        netguard.check(url, allow=allow_rules(), timeout=settings.CENTRAL_TIMEOUT)
    except netguard.Refused as exc:
        raise PeerError("refused", exc.code) from None
    except netguard.Failed as exc:
        raise PeerError(exc.code) from None


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
    try:
        answer = netguard.request(
            url, method=method, body=body, headers=headers, allow=allow_rules(), timeout=timeout, max_bytes=MAX_ANSWER
        )
    except netguard.Refused as exc:
        raise PeerError("refused", exc.code) from None
    except netguard.Failed as exc:
        if exc.code == "too_large":
            raise PeerError("not_json", "answer too large") from None
        raise PeerError(exc.code) from None
    return answer.status, answer.content_type, answer.headers.get(envelope.H_SIG.lower(), ""), answer.body
