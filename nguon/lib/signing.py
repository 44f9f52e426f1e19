"""Ed25519 signing of canonical JSON documents (device manifests, push events)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def canonical(document: Any) -> bytes:
    """UTF-8 JSON with sorted keys and no insignificant whitespace: the bytes that are signed."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


class Signer:
    def __init__(self, private_key: Ed25519PrivateKey):
        self._key = private_key
        raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.public_key_b64 = b64(raw)

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: bytes) -> Signer:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the signing key is not an Ed25519 key")
        return cls(key)

    @classmethod
    def load_or_create(cls, path: Path) -> Signer:
        """Read the PEM key at `path`, creating it (mode 600) on first use."""
        if not path.exists():
            signer = cls.generate()
            path.touch(mode=0o600)
            path.write_bytes(signer.pem())
            return signer
        return cls.from_pem(path.read_bytes())

    def pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def sign(self, payload: bytes) -> str:
        return b64(self._key.sign(payload))


def verify(public_key_b64: str, payload: bytes, signature_b64: str) -> bool:
    """True when `signature_b64` is the Ed25519 signature of `payload` by the key."""
    try:
        key = Ed25519PublicKey.from_public_bytes(unb64(public_key_b64))
        key.verify(unb64(signature_b64), payload)
    except (InvalidSignature, ValueError):
        return False
    return True
