"""Signed envelopes and signed HTTP requests and answers (no Django here).

A message on the wire is the envelope's fields plus "sig", the Ed25519 signature of the canonical JSON of the
envelope without "sig". A request carries the sender's id, a timestamp and a signature over the method, the path
with its query, the timestamp and the SHA-256 of the body; the answer is signed over its status, the request's
signature and the SHA-256 of its body, so an answer cannot be replayed to another request.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from nguon.lib.signing import Signer, canonical, verify

VERSION = 1
FIELDS = ("v", "from", "to", "seq", "key", "kind", "created_at", "body")

H_FROM = "X-Nguon-Instance"
H_TIME = "X-Nguon-Timestamp"
H_SIG = "X-Nguon-Signature"


class BadEnvelope(Exception):
    """A message that cannot be accepted. `code`: malformed, signature, sender, recipient."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def seal(signer: Signer, *, sender: str, recipient: str, seq: int, key: str, kind: str, created_at: str,
         body: dict) -> dict:  # fmt: skip
    envelope = {"v": VERSION, "from": sender, "to": recipient, "seq": seq, "key": key, "kind": kind,
                "created_at": created_at, "body": body}  # fmt: skip
    return {**envelope, "sig": signer.sign(canonical(envelope))}


@dataclass(frozen=True)
class Opened:
    seq: int
    key: str
    kind: str
    created_at: str
    body: dict
    sig: str


def open_sealed(message, *, public_key: str, sender: str, recipient: str) -> Opened:
    """Check a message's shape, addressing and signature; raise BadEnvelope when any is wrong."""
    if not isinstance(message, dict) or set(message) != {*FIELDS, "sig"}:
        raise BadEnvelope("malformed", "the message does not have exactly the envelope's fields")
    envelope = {name: message[name] for name in FIELDS}
    types = {"v": int, "from": str, "to": str, "seq": int, "key": str, "kind": str, "created_at": str, "body": dict}
    if any(not isinstance(envelope[n], t) or isinstance(envelope[n], bool) for n, t in types.items()):
        raise BadEnvelope("malformed", "a field of the envelope has the wrong type")
    if envelope["v"] != VERSION:
        raise BadEnvelope("malformed", f"unsupported envelope version {envelope['v']}")
    if not 0 < envelope["seq"] < 2**62 or not 0 < len(envelope["key"]) <= 200 or not isinstance(message["sig"], str):
        raise BadEnvelope("malformed", "the sequence number, key or signature is not valid")
    if not verify(public_key, canonical(envelope), message["sig"]):
        raise BadEnvelope("signature", "the signature does not match the peer's pinned key")
    if envelope["from"] != sender:
        raise BadEnvelope("sender", "the message is not from the peer of this link")
    if envelope["to"] != recipient:
        raise BadEnvelope("recipient", "the message is addressed to another instance")
    return Opened(envelope["seq"], envelope["key"], envelope["kind"], envelope["created_at"], envelope["body"],
                  message["sig"])  # fmt: skip


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def request_payload(method: str, path: str, timestamp: str, sender: str, body: bytes) -> bytes:
    return f"{method.upper()}\n{path}\n{timestamp}\n{sender}\n{digest(body)}".encode()


def answer_payload(status: int, request_signature: str, body: bytes) -> bytes:
    return f"{status}\n{request_signature}\n{digest(body)}".encode()


def sign_request(signer: Signer, method: str, path: str, timestamp: str, sender: str, body: bytes) -> dict:
    signature = signer.sign(request_payload(method, path, timestamp, sender, body))
    return {H_FROM: sender, H_TIME: timestamp, H_SIG: signature}


def verify_request(public_key: str, method: str, path: str, timestamp: str, sender: str, body: bytes,
                   signature: str) -> bool:  # fmt: skip
    return verify(public_key, request_payload(method, path, timestamp, sender, body), signature)


def canonical_without_sig(document: dict) -> bytes:
    return canonical({name: value for name, value in document.items() if name != "sig"})


def verify_answer_document(document: dict) -> bool:
    """A self-signed identity document (the pairing answer): signed by the key it carries."""
    signature = document.get("sig")
    return isinstance(signature, str) and verify(document["public_key"], canonical_without_sig(document), signature)
