"""Partner API keys for Open311: issued once in plain, kept as a prefix and a keyed hash, checked in constant time."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from nguon.accounts.access import is_root_admin
from nguon.audit.actions import record_event
from nguon.core.errors import Forbidden, Invalid
from nguon.core.validators import xml_text_problem
from nguon.feedback.models import PartnerKey
from nguon.units.models import Unit

# "o311_<prefix>_<secret>": the prefix finds the row (and names the key in logs and rate limits), the secret is
# 256 random bits. Only an HMAC of the whole key is stored, so a copy of the table yields no usable key.
KEY_PREFIX = "o311_"
PREFIX_LENGTH = 10
MAX_NAME = 100
# last_used_at is written at most this often per key, so a busy partner does not cost a write per request.
TOUCH_EVERY = timedelta(minutes=1)


def hash_key(plain: str) -> str:
    return salted_hmac("nguon.feedback.open311.key", plain, algorithm="sha256").hexdigest()


def _split(plain: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    if not isinstance(plain, str) or len(plain) > 100 or not plain.startswith(KEY_PREFIX):
        return None
    prefix, sep, secret = plain[len(KEY_PREFIX) :].partition("_")
    if not sep or len(prefix) != PREFIX_LENGTH or not secret:
        return None
    return prefix


def _require_root(acting_user) -> None:
    # Commands act with no user (the operator at the console); people need to be root administrators.
    if acting_user is not None and not is_root_admin(acting_user):
        raise Forbidden(_("Only a system administrator may manage partner API keys."))


def issue_key(
    name: str, *, unit: Unit | None = None, can_submit: bool = True, contact: str = "", acting_user=None
) -> tuple[PartnerKey, str]:
    """Create a key for a partner app; return it with the plain key, which is shown once and never stored."""
    _require_root(acting_user)
    name = " ".join((name or "").split())
    contact = " ".join((contact or "").split())
    errors: dict[str, list] = {}
    if not name:
        errors["name"] = [_("Enter the partner's name.")]
    elif len(name) > MAX_NAME or xml_text_problem(name):
        errors["name"] = [_("The name is too long or has characters that cannot be kept.")]
    if len(contact) > 200 or xml_text_problem(contact):
        errors["contact"] = [_("The contact is too long or has characters that cannot be kept.")]
    if errors:
        raise Invalid(_("The key was not issued."), fields=errors)
    with transaction.atomic():
        while True:
            prefix = secrets.token_hex(PREFIX_LENGTH // 2)
            if not PartnerKey.objects.filter(prefix=prefix).exists():
                break
        plain = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        key = PartnerKey.objects.create(
            name=name,
            prefix=prefix,
            key_hash=hash_key(plain),
            can_submit=can_submit,
            unit=unit,
            contact=contact,
            created_by=acting_user if acting_user is not None and acting_user.pk else None,
        )
        record_event(
            "feedback.key_issued",
            actor=acting_user,
            obj=key,
            unit=unit,
            changes={"name": name, "prefix": prefix, "scope": unit.code if unit else "", "can_submit": can_submit},
        )
    return key, plain


def verify_key(plain: str) -> PartnerKey | None:
    """The active key `plain` is, or None; notes when it was last used."""
    prefix = _split(plain)
    digest = hash_key(plain if isinstance(plain, str) else "")
    key = None
    if prefix is not None:
        key = PartnerKey.objects.active().select_related("unit").filter(prefix=prefix).first()
    # Compare even when no row was found, so the answer takes as long either way.
    stored = key.key_hash if key is not None else "0" * 64
    if not hmac.compare_digest(stored, digest) or key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY:
        # A conditional update: concurrent requests write once, and never move the time backwards.
        PartnerKey.objects.filter(pk=key.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOUCH_EVERY)
        ).update(last_used_at=now)
        key.last_used_at = now
    return key


def revoke_key(key: PartnerKey, *, acting_user=None) -> PartnerKey:
    """Stop a key from working (the row stays: the requests it sent still name it)."""
    _require_root(acting_user)
    with transaction.atomic():
        key = PartnerKey.objects.select_for_update().get(pk=key.pk)
        if key.revoked_at is not None:
            return key
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        record_event(
            "feedback.key_revoked",
            actor=acting_user,
            obj=key,
            unit=key.unit,
            changes={"name": key.name, "prefix": key.prefix},
        )
    return key
