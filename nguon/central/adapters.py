"""One interface for every way of talking to the level above: federation (this software at both ends) and the
documented file exchange for a provincial or national data-sharing platform (LGSP/NGSP).

An adapter sends the outbox's pending messages up and brings down what the level above has for us; applying a
message is the same whichever adapter carried it (`nguon.central.kinds`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field


@dataclass
class Envelope:
    """A message as carried: kind, idempotency key, per-link sequence number, body, and its signature if any."""

    kind: str
    key: str
    seq: int
    body: dict
    created_at: str  # ISO 8601 with offset
    signature: str = ""


@dataclass
class SyncResult:
    sent: int = 0
    received: int = 0
    errors: list[str] = field(default_factory=list)


class CentralAdapter(ABC):
    name: str = ""

    @abstractmethod
    def push(self, link) -> SyncResult:
        """Send the link's pending outbox messages, in order; stop at the first refusal or error."""

    @abstractmethod
    def pull(self, link) -> SyncResult:
        """Fetch and apply what the other side has for us after the link's cursor, in order."""
