"""Pairing by a one-time code: the parent issues it for a named child; the child presents it with its key.

The code is shown once and only its SHA-256 is stored; it is single use and expires after 24 hours. The child signs
its pairing request with the key it offers (proof that it holds it); the parent answers with its own key, signed.
Each side pins the other's key: every later message must carry a signature by it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nguon.audit.actions import record_event
from nguon.central.federation import client, envelope, identity
from nguon.central.link_models import Link, PairingCode
from nguon.core.errors import Conflict, Forbidden, Invalid

CODE_LIFETIME = timedelta(hours=24)
# No 0/O, 1/I/L: codes are read over the phone and typed on phones. 12 symbols of 31: about 59 bits.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
PAIR_PATH = "/api/v1/central/pair"


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def code_hash(code: str) -> str:
    normalised = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(normalised.encode()).hexdigest()


def issue_code(link: Link, *, acting_user=None) -> str:
    """Store a new code for a pending child link; return it (the only time it is seen)."""
    code = new_code()
    PairingCode.objects.create(
        link=link, code_hash=code_hash(code), expires_at=timezone.now() + CODE_LIFETIME, created_by=acting_user
    )
    return code


def accept(*, code: str, instance_id: str, public_key: str, unit_code: str, name: str) -> Link:
    """The parent's side: spend the code and pin the child's key. The caller checked the request's signature."""
    if identity.instance_id_for(public_key) != instance_id:
        raise Invalid(_("The instance id does not belong to the public key."), code="bad_identity")
    if instance_id == identity.instance_id():
        raise Invalid(_("An instance cannot pair with itself."), code="self_pairing")
    with transaction.atomic():
        found = PairingCode.objects.select_for_update().filter(code_hash=code_hash(code)).first()
        if found is None:
            raise Forbidden(_("The pairing code is not valid."), code="bad_code")
        if found.used_at is not None:
            raise Forbidden(_("The pairing code has already been used."), code="code_used")
        if not found.is_usable():
            raise Forbidden(_("The pairing code has expired."), code="code_expired")
        link = Link.objects.select_for_update().get(pk=found.link_id)
        if link.state != Link.State.PENDING:
            raise Conflict(_("This link is already paired."), code="already_paired")
        if Link.objects.filter(peer_instance_id=instance_id).exists():
            raise Conflict(_("This instance is already paired with us."), code="already_paired")
        found.used_at = timezone.now()
        found.save(update_fields=["used_at"])
        link.peer_instance_id = instance_id
        link.peer_public_key = public_key
        link.peer_unit_code = unit_code[:20]
        link.state = Link.State.ACTIVE
        link.save(update_fields=["peer_instance_id", "peer_public_key", "peer_unit_code", "state"])
        record_event(
            "central.child_paired",
            obj=link,
            changes={"peer_instance_id": instance_id, "peer_unit_code": unit_code, "peer_name": name[:200]},
            actor_label=f"federation:{instance_id}",
        )
    return link


def request(base_url: str, code: str) -> dict:
    """The child's side: present the code and our key to the parent; return the parent's verified identity."""
    payload = {
        "code": code.strip(),
        "instance_id": identity.instance_id(),
        "public_key": identity.signer().public_key_b64,
        "unit_code": identity.unit_code(),
        "name": settings.CENTRAL_NAME or identity.unit_code(),
    }
    answer = client.call(base_url, "POST", PAIR_PATH, data=payload)
    if answer.status != 200:
        error = answer.data.get("error") if isinstance(answer.data.get("error"), dict) else {}
        raise client.PeerError(
            str(error.get("code") or "status"), str(error.get("message") or ""), status=answer.status
        )
    data = answer.data
    fields = ("instance_id", "public_key", "unit_code", "name")
    if (
        any(not isinstance(data.get(f), str) for f in fields)
        or identity.instance_id_for(data["public_key"]) != data["instance_id"]
    ):
        raise client.PeerError("not_json", "the answer is not a pairing answer")
    if not envelope.verify_answer_document(data):
        raise client.PeerError("signature", "the parent's answer is not signed by the key it sent")
    return data


def sign_answer(data: dict) -> dict:
    """The parent's identity, signed by itself (the child checks that the key it pins signed it)."""
    return {**data, "sig": identity.signer().sign(envelope.canonical_without_sig(data))}


def fresh(timestamp: str) -> bool:
    try:
        return abs(time.time() - int(timestamp)) <= settings.CENTRAL_CLOCK_SKEW
    except ValueError:
        return False


def dumps(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
