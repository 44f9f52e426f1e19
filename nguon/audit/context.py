"""Where the current action comes from (address, agent, channel), set by middleware or a command."""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    ip: str | None = None
    user_agent: str = ""
    channel: str = "system"  # "web", "api", "cli:<command>", "worker", "system"


# Origin is a frozen dataclass, so sharing one default instance is safe.
_current: ContextVar[Origin] = ContextVar("nguon_audit_origin", default=Origin())  # noqa: B039


def current_origin() -> Origin:
    return _current.get()


@contextlib.contextmanager
def origin(value: Origin):
    """Attribute audit rows written inside the block to `value`."""
    token = _current.set(value)
    try:
        yield value
    finally:
        _current.reset(token)
