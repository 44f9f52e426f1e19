"""Queue messages for peers: the one entry point content code calls (`enqueue`), inside its own transaction.

A message is numbered per link when it is queued, so the order peers apply messages in is the order they were
committed here. The sender and any waiting long-poll are woken after commit (never for a rolled-back message).
"""

from __future__ import annotations

import threading

from django.db import transaction

from nguon.central import kinds
from nguon.central.link_models import Link, OutboxMessage

# Wakes, within this process, the sender loops and the long-polls waiting for new messages. Other processes notice
# new rows by polling the table about once a second (see `wait`).
_changed = threading.Condition()
_generation = 0


def default_links(direction: str):
    """UP kinds go to our parent, DOWN kinds to every child; suspended links keep queueing (they resume later)."""
    links = Link.objects.filter(state__in=[Link.State.ACTIVE, Link.State.SUSPENDED])
    role = Link.Role.PARENT if direction == kinds.UP else Link.Role.CHILD
    return list(links.filter(role=role).order_by("pk"))


def enqueue(kind: str, body: dict, *, key: str, links=None) -> list[OutboxMessage]:
    """Queue `body` as a message of `kind` for each link (default: by the kind's direction); return the new rows.

    `key` is the idempotency key: a link that already has a message with this key gets nothing new, so callers
    may enqueue the same thing again safely (a re-published bulletin, figures recomputed for the same month).
    """
    registered = kinds.get(kind)
    if registered is None:
        raise ValueError(f"unknown message kind {kind!r}")
    if not key or len(key) > 200:
        raise ValueError("an idempotency key of 1 to 200 characters is required")
    targets = default_links(registered.direction) if links is None else list(links)
    created = []
    with transaction.atomic():
        for link in targets:
            # The row lock numbers messages without gaps or duplicates when several writers queue at once.
            locked = Link.objects.select_for_update().get(pk=link.pk)
            if OutboxMessage.objects.filter(link=locked, key=key).exists():
                continue
            locked.sent_seq += 1
            Link.objects.filter(pk=locked.pk).update(sent_seq=locked.sent_seq)
            created.append(
                OutboxMessage.objects.create(link=locked, seq=locked.sent_seq, key=key, kind=kind, body=body)
            )
        if created:
            transaction.on_commit(wake)
    return created


def wake() -> None:
    """Tell this process's waiting senders and long-polls that something was queued."""
    global _generation
    with _changed:
        _generation += 1
        _changed.notify_all()


def generation() -> int:
    return _generation


def wait(since: int, timeout: float) -> int:
    """Block until `wake` is called after generation `since`, or `timeout` seconds; return the generation."""
    with _changed:
        _changed.wait_for(lambda: _generation != since, timeout=timeout)
        return _generation
