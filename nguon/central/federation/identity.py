"""This instance's federation identity: an Ed25519 key kept in the data directory, and an id derived from it."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from django.conf import settings

from nguon.lib.signing import Signer, unb64


@cache
def signer() -> Signer:
    """The instance key, created (mode 600) on first use; never in the database or the repository."""
    path = Path(settings.CENTRAL_KEY_FILE) if settings.CENTRAL_KEY_FILE else settings.DATA_DIR / "central_key.pem"
    return Signer.load_or_create(path)


def instance_id_for(public_key_b64: str) -> str:
    """A stable, short name for the holder of a key: peers cannot choose an id that collides with another's key."""
    return "ng-" + hashlib.sha256(unb64(public_key_b64)).hexdigest()[:32]


def instance_id() -> str:
    return instance_id_for(signer().public_key_b64)


def unit_code() -> str:
    """The official code of the unit this instance speaks for (the province by default)."""
    return settings.CENTRAL_UNIT_CODE or settings.DEFAULT_PROVINCE


def seal_outbox(link, rows) -> list[dict]:
    """Our outbox rows for `link` as signed envelopes (pushed up by a child, pulled down from a parent)."""
    from nguon.central.federation import envelope

    me, key = instance_id(), signer()
    return [
        envelope.seal(
            key,
            sender=me,
            recipient=link.peer_instance_id,
            seq=row.seq,
            key=row.key,
            kind=row.kind,
            created_at=row.created_at.isoformat(),
            body=row.body,
        )  # fmt: skip
        for row in rows
    ]
