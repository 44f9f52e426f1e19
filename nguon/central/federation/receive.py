"""Applying a message from a peer: in order, exactly once, with its effect and its inbox row in one transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils.dateparse import parse_datetime

from nguon.central import kinds
from nguon.central.federation import envelope, identity
from nguon.central.link_models import InboxMessage, Link
from nguon.core.errors import DomainError

log = logging.getLogger(__name__)

APPLIED = "applied"
DUPLICATE = "duplicate"  # already applied: acknowledged again, not applied twice
REFUSED = "refused"  # signed and in order, but its kind refused it: recorded, effects rolled back, stream moves on


class OutOfOrder(Exception):
    """A gap or a step back in the sequence: the sender should resume at `expected`."""

    def __init__(self, expected: int, got: int):
        super().__init__(f"expected message {expected}, got {got}")
        self.expected = expected
        self.got = got


@dataclass(frozen=True)
class Outcome:
    seq: int
    key: str
    status: str
    code: str = ""
    message: str = ""

    def as_dict(self) -> dict:
        data = {"seq": self.seq, "key": self.key, "status": self.status}
        if self.code:
            data |= {"code": self.code, "message": self.message}
        return data


def receive(link: Link, message, *, direction: str) -> Outcome:
    """Verify and apply one message that came over `link`; `direction`: the kinds this side may receive.

    Raises envelope.BadEnvelope (nothing recorded) or OutOfOrder (nothing recorded; resume at `expected`).
    """
    opened = envelope.open_sealed(
        message, public_key=link.peer_public_key, sender=link.peer_instance_id, recipient=identity.instance_id()
    )
    with transaction.atomic():
        # The row lock makes concurrent deliveries of the same stream (a retry racing a slow first attempt) queue.
        locked = Link.objects.select_for_update().get(pk=link.pk)
        if InboxMessage.objects.filter(link=locked, key=opened.key).exists():
            return Outcome(opened.seq, opened.key, DUPLICATE)
        if opened.seq != locked.received_seq + 1:
            raise OutOfOrder(locked.received_seq + 1, opened.seq)
        kind = kinds.get(opened.kind)
        code = text = ""
        if kind is None or kind.direction != direction:
            code, text = "unknown_kind", f"this instance does not accept messages of kind {opened.kind!r}"
        else:
            try:
                with transaction.atomic():
                    kind.apply(locked, opened.body)
            except DomainError as exc:
                code, text = exc.code, str(exc.message)
        if code:
            log.warning("central: %s #%s from %s refused: %s", opened.kind, opened.seq, locked.name, text)
        InboxMessage.objects.create(
            link=locked,
            seq=opened.seq,
            key=opened.key,
            kind=opened.kind[:64],
            body=opened.body,
            signature=opened.sig[:100],
            created_at=parse_datetime(opened.created_at) if _is_datetime(opened.created_at) else None,
            refusal=f"{code}: {text}" if code else "",
        )
        Link.objects.filter(pk=locked.pk).update(received_seq=opened.seq)
    return Outcome(opened.seq, opened.key, REFUSED if code else APPLIED, code, text)


def _is_datetime(text: str) -> bool:
    try:
        parsed = parse_datetime(text)
    except ValueError:
        return False
    return parsed is not None and parsed.tzinfo is not None
