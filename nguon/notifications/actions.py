"""Notifications: create them (`notify`), mark them read, resolve them, deliver them through outside channels.

`notify()` is what other apps' events end in (see receivers.py). It writes the in-app rows at once and queues one
delivery per outside channel the recipient wants; the worker sends them after commit. A channel that fails is
retried with a growing delay and never holds up the action that caused the notification.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from nguon.audit.actions import record_event
from nguon.notifications import channels
from nguon.notifications.models import SOUNDING_KINDS, ChannelChoice, Delivery, DeliveryState, Notification

log = logging.getLogger(__name__)

MAX_TITLE = 300
# Waits before each retry of a failed delivery; after the last one it is marked failed.
RETRY_DELAYS = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(minutes=30))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# A delivery claimed longer ago than this was left by a worker that died mid-send: it is queued again.
STALE_CLAIM = timedelta(minutes=10)
# Read notifications are deleted after this (with their deliveries); unread ones are kept until read.
KEEP_READ = timedelta(days=180)


def channel_wishes(users: Iterable, kind: str) -> dict[int, set[str]]:
    """{user id: names of the outside channels that user wants `kind` through} (choices, else defaults)."""
    users = list(users)
    chosen = {
        (user_id, channel): enabled
        for user_id, channel, enabled in ChannelChoice.objects.filter(
            user__in=[u.pk for u in users], kind=kind
        ).values_list("user_id", "channel", "enabled")
    }
    wishes: dict[int, set[str]] = {}
    for user in users:
        wishes[user.pk] = {
            channel.name
            for channel in channels.all_channels()
            if chosen.get((user.pk, channel.name), channel.default_enabled(kind))
        }
    return wishes


def notify(
    recipients: Iterable,
    kind: str,
    *,
    title: str,
    body: str = "",
    link: str = "",
    unit=None,
    key: str = "",
    sound: bool | None = None,
    data: dict | None = None,
    exclude: Iterable = (),
    now: datetime | None = None,
) -> list[Notification]:
    """Tell each recipient once (per `key`, when given); queue their outside deliveries after commit."""
    now = now or timezone.now()
    excluded = {getattr(u, "pk", u) for u in exclude if u is not None}
    people = {u.pk: u for u in recipients if u is not None and u.is_active and u.pk not in excluded}
    if not people:
        return []
    if link and (not link.startswith("/") or link.startswith("//")):
        raise ValueError("a notification links inside the back office only")
    sound = kind in SOUNDING_KINDS if sound is None else sound
    wishes = channel_wishes(people.values(), kind)
    created: list[Notification] = []
    delivery_ids: list[int] = []
    with transaction.atomic():
        for user in people.values():
            notification = Notification(
                recipient=user,
                kind=kind,
                title=str(title)[:MAX_TITLE],
                body=str(body),
                link=link,
                unit=unit,
                key=key,
                sound=sound,
                data=data or {},
                created_at=now,
            )
            try:
                with transaction.atomic():
                    notification.save()
            except IntegrityError:
                continue  # told already about this event (same key)
            created.append(notification)
            for name in sorted(wishes[user.pk]):
                channel = channels.get(name)
                address = channel.address(user) if channel else ""
                if address:
                    delivery = Delivery.objects.create(
                        notification=notification, channel=name, address=address[:255], next_attempt_at=now
                    )
                    delivery_ids.append(delivery.pk)
        if delivery_ids:
            transaction.on_commit(lambda: _enqueue(delivery_ids))
    return created


def _enqueue(delivery_ids: list[int]) -> None:
    from nguon.notifications.tasks import deliver

    try:
        deliver(delivery_ids)
    except Exception:  # the queue is down: the periodic retry picks the rows up (they are queued in the database)
        log.exception("could not queue deliveries %s", delivery_ids)


def resolve(key_prefix: str, *, now: datetime | None = None) -> int:
    """Someone dealt with it: mark every unread notification whose key starts with `key_prefix` read."""
    if not key_prefix:
        return 0
    return Notification.objects.filter(key__startswith=key_prefix, read_at__isnull=True).update(
        read_at=now or timezone.now()
    )


def mark_read(user, notification_ids: Iterable[int], *, now: datetime | None = None) -> int:
    return (
        Notification.objects.for_user(user)
        .unread()
        .filter(pk__in=list(notification_ids))
        .update(read_at=now or timezone.now())
    )


def mark_all_read(user, *, now: datetime | None = None) -> int:
    return Notification.objects.for_user(user).unread().update(read_at=now or timezone.now())


def set_channel_choices(user, choices: dict[tuple[str, str], bool], *, acting_user) -> list[str]:
    """Store a person's choices {(kind, channel): enabled}; return the changes as "kind/channel" strings."""
    current = {
        (kind, channel): enabled
        for kind, channel, enabled in ChannelChoice.objects.filter(user=user).values_list("kind", "channel", "enabled")
    }
    changed = []
    with transaction.atomic():
        for (kind, name), enabled in sorted(choices.items()):
            channel = channels.get(name)
            before = current.get((kind, name), channel.default_enabled(kind) if channel else False)
            if before == enabled and (kind, name) not in current:
                continue
            ChannelChoice.objects.update_or_create(user=user, kind=kind, channel=name, defaults={"enabled": enabled})
            if before != enabled:
                changed.append(f"{kind}/{name}: {'on' if enabled else 'off'}")
        if changed:
            record_event(
                "notifications.preferences_changed",
                actor=acting_user,
                obj=user,
                unit=user.unit,
                changes={"channels": changed},
            )
    return changed


# --- Delivery (run by the worker) -------------------------------------------------------------------------------


def deliver_now(delivery_ids: Iterable[int], *, now: datetime | None = None) -> dict[str, int]:
    """Send the given deliveries that are due; each is claimed first, so a row is never sent twice at once."""
    outcome = {"sent": 0, "failed": 0, "retry": 0, "skipped": 0}
    for delivery_id in delivery_ids:
        at = now or timezone.now()
        claimed = Delivery.objects.filter(pk=delivery_id, state=DeliveryState.QUEUED, next_attempt_at__lte=at).update(
            state=DeliveryState.SENDING, claimed_at=at, attempts=F("attempts") + 1
        )
        if not claimed:  # sent already, not yet due, or another worker has it
            outcome["skipped"] += 1
            continue
        delivery = Delivery.objects.select_related("notification__recipient").get(pk=delivery_id)
        outcome[_attempt(delivery)] += 1
    return outcome


def _attempt(delivery: Delivery) -> str:
    channel = channels.get(delivery.channel)
    try:
        if channel is None:
            raise channels.PermanentFailure(f"no channel called {delivery.channel!r} is installed")
        channel.send(delivery.notification, delivery.address)
    except channels.PermanentFailure as exc:
        _failed(delivery, str(exc), final=True)
        return "failed"
    except Exception as exc:  # TemporaryFailure, or an adapter's bug: retried, never lost silently
        final = delivery.attempts >= MAX_ATTEMPTS
        _failed(delivery, str(exc) if isinstance(exc, channels.TemporaryFailure) else repr(exc), final=final)
        return "failed" if final else "retry"
    Delivery.objects.filter(pk=delivery.pk).update(
        state=DeliveryState.SENT, sent_at=timezone.now(), claimed_at=None, last_error=""
    )
    return "sent"


def _failed(delivery: Delivery, error: str, *, final: bool) -> None:
    log.warning(
        "notification %s by %s to %s failed (attempt %s%s): %s",
        delivery.notification_id,
        delivery.channel,
        delivery.address,
        delivery.attempts,
        ", giving up" if final else "",
        error,
    )
    fields = {"last_error": error[:1000], "claimed_at": None}
    if final:
        fields["state"] = DeliveryState.FAILED
    else:
        fields["state"] = DeliveryState.QUEUED
        fields["next_attempt_at"] = timezone.now() + RETRY_DELAYS[min(delivery.attempts, MAX_ATTEMPTS - 1) - 1]
    Delivery.objects.filter(pk=delivery.pk).update(**fields)


def deliver_due(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Periodic: free claims left by a dead worker, then send what is due (retries, and rows never queued)."""
    now = now or timezone.now()
    Delivery.objects.filter(state=DeliveryState.SENDING, claimed_at__lt=now - STALE_CLAIM).update(
        state=DeliveryState.QUEUED, claimed_at=None
    )
    due = list(
        Delivery.objects.filter(state=DeliveryState.QUEUED, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    return deliver_now(due, now=now)


def purge_read(*, now: datetime | None = None) -> int:
    """Periodic: delete notifications read more than KEEP_READ ago (the audit log keeps what people did)."""
    cutoff = (now or timezone.now()) - KEEP_READ
    deleted, _by_model = Notification.objects.filter(read_at__lt=cutoff).delete()
    return deleted
