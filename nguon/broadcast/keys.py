"""The server's Ed25519 signing key: devices are pinned to its public half at enrolment."""

from functools import cache
from pathlib import Path

from django.conf import settings

from nguon.lib.signing import Signer


@cache
def signer() -> Signer:
    path = Path(settings.SIGNING_KEY_FILE) if settings.SIGNING_KEY_FILE else settings.DATA_DIR / "signing_key.pem"
    return Signer.load_or_create(path)
