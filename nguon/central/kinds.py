"""Message kinds the central link carries, each with what applying it means on the receiving side.

The transport (federation or file exchange) knows nothing of bulletins or figures: it delivers a message's body
to `apply(link, body)` inside the transaction that records the message as received, exactly once per
idempotency key. Kinds register themselves here; the transport looks them up by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

UP = "up"  # child → parent: figures, inventory, bulletins shared up
DOWN = "down"  # parent → child: bulletins (with their TT 39 class) and CAP alerts from above


@dataclass(frozen=True)
class Kind:
    name: str
    direction: str
    apply: Callable[[object, dict], None]  # (link the message came over, body) → None; raise DomainError to refuse


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    KINDS[kind.name] = kind
    return kind


def get(name: str) -> Kind | None:
    return KINDS.get(name)
