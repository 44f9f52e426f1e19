"""Ed25519 verification of what the server signs: manifests (raw body) and push events."""

from __future__ import annotations

import base64
import binascii
import json
from collections import OrderedDict
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def b64decode_any(text: str | bytes) -> bytes:
    """Decode standard or URL-safe base64, padded or not; raise ValueError on anything else."""
    if isinstance(text, bytes):
        text = text.decode("ascii")
    text = text.strip()
    if not text:
        raise ValueError("empty base64")
    text = text.replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError("invalid base64") from exc


@lru_cache(maxsize=16)
def _public_key(public_key_b64: str) -> Ed25519PublicKey:
    raw = b64decode_any(public_key_b64)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def check_public_key(public_key_b64: str) -> None:
    """Raise ValueError unless the text is a base64 Ed25519 public key."""
    _public_key(public_key_b64)


class Verifier:
    """Verifies signatures against the pinned server key.

    `cache` (shared by many simulated devices) remembers signatures that verified, so that one event fanned out to
    thousands of devices in one process is verified once; a real device verifies each event once anyway.
    """

    __slots__ = ("public_key_b64", "_key", "_cache")

    def __init__(self, public_key_b64: str, cache: SignatureCache | None = None):
        self.public_key_b64 = public_key_b64
        self._key = _public_key(public_key_b64)
        self._cache = cache

    def verify(self, payload: bytes, signature: bytes) -> bool:
        cache = self._cache
        if cache is not None and cache.seen(self.public_key_b64, payload, signature):
            return True
        try:
            self._key.verify(signature, payload)
        except InvalidSignature:
            return False
        if cache is not None:
            cache.add(self.public_key_b64, payload, signature)
        return True

    def verify_manifest(self, body: bytes, signature_header: str | None) -> bool:
        """The manifest signature (header `X-Nguon-Signature`) over the body bytes exactly as received."""
        if not signature_header:
            return False
        try:
            signature = b64decode_any(signature_header)
        except ValueError:
            return False
        return len(signature) == 64 and self.verify(body, signature)

    def open_event(self, data: str) -> dict[str, Any] | None:
        """Verify `<b64url payload>.<b64url signature>` and return the payload object, or None.

        With a shared cache, the same event text fanned out to many simulated devices is decoded and verified once
        and every device gets the same payload object (handlers treat it as read-only).
        """
        cache = self._cache
        if cache is not None:
            known = cache.event(self.public_key_b64, data)
            if known is not None:
                return known
        document = self._open_event(data)
        if document is not None and cache is not None:
            cache.add_event(self.public_key_b64, data, document)
        return document

    def _open_event(self, data: str) -> dict[str, Any] | None:
        parts = data.strip().split(".")
        if len(parts) != 2:
            return None
        try:
            payload = b64decode_any(parts[0])
            signature = b64decode_any(parts[1])
        except ValueError:
            return None
        if len(signature) != 64 or not self.verify(payload, signature):
            return None
        try:
            document = json.loads(payload)
        except ValueError:
            return None
        return document if isinstance(document, dict) else None


class SignatureCache:
    """A small LRU of (key, payload, signature) triples that verified."""

    def __init__(self, size: int = 512):
        self._size = size
        self._entries: OrderedDict[tuple[str, bytes, bytes], None] = OrderedDict()
        self._events: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()

    def event(self, key: str, data: str) -> dict[str, Any] | None:
        return self._events.get((key, data))

    def add_event(self, key: str, data: str, document: dict[str, Any]) -> None:
        self._events[(key, data)] = document
        if len(self._events) > self._size:
            self._events.popitem(last=False)

    def seen(self, key: str, payload: bytes, signature: bytes) -> bool:
        entry = (key, payload, signature)
        if entry in self._entries:
            self._entries.move_to_end(entry)
            return True
        return False

    def add(self, key: str, payload: bytes, signature: bytes) -> None:
        self._entries[(key, payload, signature)] = None
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
