"""The child's side of a link to its parent: push the outbox up, pull messages down, back off on errors.

`push(link)` and `pull(link)` each do one exchange and record its outcome on the link (last_ok_at or last_error,
failures, next_attempt_at). `run_forever()` runs, for each active parent link, a sender thread (woken when
something is queued) and a puller thread (a long poll, so an emergency from above arrives within about a second).
"""

from __future__ import annotations

import logging
import random
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from nguon.central import kinds, outbox
from nguon.central.adapters import CentralAdapter, SyncResult
from nguon.central.federation import client, envelope, identity
from nguon.central.federation.receive import REFUSED, OutOfOrder, receive
from nguon.central.link_models import Link

log = logging.getLogger(__name__)

MESSAGES_PATH = "/api/v1/central/messages"
IDLE_SECONDS = 1.0  # how often an idle sender looks for messages queued by another process


def backoff_seconds(failures: int) -> float:
    """2, 4, 8… seconds up to NGUON_CENTRAL_BACKOFF_MAX, with jitter so that many children do not retry in step."""
    base = min(float(settings.CENTRAL_BACKOFF_MAX), 2.0 ** min(failures, 30))
    return base * random.uniform(0.8, 1.0)  # noqa: S311 (jitter, not a secret)


def record_ok(link: Link) -> None:
    Link.objects.filter(pk=link.pk).update(last_ok_at=timezone.now(), failures=0, next_attempt_at=None)


def record_error(link: Link, error: str) -> None:
    fresh = Link.objects.filter(pk=link.pk).values_list("failures", flat=True).first() or 0
    now = timezone.now()
    Link.objects.filter(pk=link.pk).update(
        last_error=error[:1000],
        last_error_at=now,
        failures=fresh + 1,
        next_attempt_at=now + timedelta(seconds=backoff_seconds(fresh + 1)),
    )
    log.warning("central: link %s: %s", link.name, error)


def record_refusals(link: Link, refusals: list[str]) -> None:
    """The exchange worked but the peer refused some messages: show why, without backing off (retrying would not
    change a refusal; the stream has moved past them)."""
    now = timezone.now()
    Link.objects.filter(pk=link.pk).update(
        last_ok_at=now, failures=0, next_attempt_at=None, last_error="; ".join(refusals)[:1000], last_error_at=now
    )
    log.warning("central: link %s: refused: %s", link.name, "; ".join(refusals))


def _error_text(exc: client.PeerError) -> str:
    error = exc.answer.get("error") if isinstance(exc.answer.get("error"), dict) else None
    if error:
        return f"{exc.code}: HTTP {exc.status} {error.get('code', '')}: {error.get('message', '')}"[:1000]
    return str(exc)


def push(link: Link) -> SyncResult:
    """Send pending messages in seq order, a batch at a time, until none is left or something fails."""
    result = SyncResult()
    while True:
        pending = list(link.pending_messages()[: settings.CENTRAL_BATCH])
        if not pending:
            return result
        sealed = identity.seal_outbox(link, pending)
        try:
            answer = client.call(link.base_url, "POST", MESSAGES_PATH, data={"messages": sealed},
                                 peer_key=link.peer_public_key)  # fmt: skip
        except client.PeerError as exc:
            result.errors.append(_error_text(exc))
            record_error(link, _error_text(exc))
            return result
        data, error = answer.data, answer.data.get("error")
        received = data.get("received_seq")
        if (
            isinstance(error, dict)
            and error.get("code") == "out_of_order"
            and isinstance(error.get("expected_seq"), int)
        ):
            received = error["expected_seq"] - 1
        if not isinstance(received, int) or isinstance(received, bool) or received < 0:
            message = f"not_json: HTTP {answer.status} without received_seq"
            if isinstance(error, dict):
                message = f"HTTP {answer.status} {error.get('code', '')}: {error.get('message', '')}"
            result.errors.append(message)
            record_error(link, message)
            return result
        result.sent += _acknowledge(link, received)
        for item in data.get("results") or []:
            if isinstance(item, dict) and item.get("status") == REFUSED:
                result.errors.append(f"#{item.get('seq')} {item.get('code')}: {item.get('message')}")
        if isinstance(error, dict):
            if error.get("code") == "out_of_order":
                continue  # resume where the parent expects: the next batch starts there
            message = f"HTTP {answer.status} {error.get('code', '')}: {error.get('message', '')}"
            result.errors.append(message)
            record_error(link, message)
            return result
        if result.errors:
            record_refusals(link, result.errors)
        else:
            record_ok(link)


def _acknowledge(link: Link, received: int) -> int:
    """The parent has everything up to `received`: mark it delivered. If the parent has less than we thought (it
    was restored from a backup), send the rest again: its inbox ignores what it already has."""
    now = timezone.now()
    count = link.outbox.filter(seq__lte=received, delivered_at__isnull=True).update(delivered_at=now)
    link.outbox.filter(seq__gt=received, delivered_at__isnull=False).update(delivered_at=None)
    Link.objects.filter(pk=link.pk).update(acked_seq=received)
    return count


def pull(link: Link, *, wait: float = 0) -> SyncResult:
    """Fetch messages after our cursor (waiting up to `wait` s for the first) and apply them in order."""
    result = SyncResult()
    link.refresh_from_db(fields=["received_seq", "state"])
    try:
        answer = client.call(link.base_url, "GET", MESSAGES_PATH, query={"after": link.received_seq, "wait": int(wait)},
                             peer_key=link.peer_public_key, timeout=settings.CENTRAL_TIMEOUT + wait)  # fmt: skip
    except client.PeerError as exc:
        result.errors.append(_error_text(exc))
        record_error(link, _error_text(exc))
        return result
    error = answer.data.get("error")
    messages = answer.data.get("messages")
    if isinstance(error, dict) or not isinstance(messages, list):
        message = f"HTTP {answer.status} {error.get('code', '')}: {error.get('message', '')}" if isinstance(
            error, dict) else f"not_json: HTTP {answer.status} without messages"  # fmt: skip
        result.errors.append(message)
        record_error(link, message)
        return result
    refusals = []
    for message in messages:
        try:
            outcome = receive(link, message, direction=kinds.DOWN)
        except envelope.BadEnvelope as exc:
            result.errors.append(f"{exc.code}: {exc.message}")
            break
        except OutOfOrder as exc:
            # A gap in what the parent sent: ask again from our cursor next time.
            result.errors.append(f"out_of_order: {exc}")
            break
        if outcome.status == REFUSED:
            refusals.append(f"#{outcome.seq} {outcome.code}: {outcome.message}")
        result.received += 1
    if result.errors:
        record_error(link, "; ".join(result.errors + refusals))
    elif refusals:
        record_refusals(link, refusals)
    else:
        record_ok(link)
    result.errors += refusals
    return result


class FederationAdapter(CentralAdapter):
    name = "federation"

    def push(self, link) -> SyncResult:
        return push(link)

    def pull(self, link) -> SyncResult:
        return pull(link)


def due(link: Link) -> bool:
    return link.next_attempt_at is None or link.next_attempt_at <= timezone.now()


def sync_once(*, wait: float = 0) -> dict[str, SyncResult]:
    """One push and one pull for every active parent link that is not backing off (the periodic safety net)."""
    results = {}
    for link in Link.objects.parents().active().filter(adapter=Link.Adapter.FEDERATION):
        if not due(link):
            continue
        sent = push(link)
        link.refresh_from_db()
        got = pull(link, wait=wait) if due(link) else SyncResult()
        results[link.name] = SyncResult(sent.sent, got.received, sent.errors + got.errors)
    return results


def _sleep_backoff(link_id: int, stop: threading.Event) -> Link | None:
    """Wait while the link backs off; return it fresh, or None once it is no longer an active parent link."""
    while not stop.is_set():
        link = Link.objects.filter(pk=link_id, role=Link.Role.PARENT, state=Link.State.ACTIVE).first()
        if link is None:
            return None
        if due(link):
            return link
        stop.wait(min(1.0, (link.next_attempt_at - timezone.now()).total_seconds()))
    return None


def _sender(link_id: int, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            link = _sleep_backoff(link_id, stop)
            if link is None:
                return
            generation = outbox.generation()
            push(link)
            if not link.pending_messages().exists():
                outbox.wait(generation, IDLE_SECONDS)
        except Exception:  # a bug or a database hiccup must not end the loop: log, pause, go on
            log.exception("central: sender for link %s", link_id)
            stop.wait(5)
        finally:
            close_old_connections()


def _puller(link_id: int, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            link = _sleep_backoff(link_id, stop)
            if link is None:
                return
            pull(link, wait=settings.CENTRAL_LONG_POLL)
        except Exception:
            log.exception("central: puller for link %s", link_id)
            stop.wait(5)
        finally:
            close_old_connections()


def run_forever(stop: threading.Event | None = None, *, rescan: float = 10.0) -> None:
    """Keep a sender and a puller running for each active parent link; pick up links paired or resumed later."""
    stop = stop or threading.Event()
    threads: dict[int, list[threading.Thread]] = {}
    while not stop.is_set():
        try:
            ids = list(
                Link.objects.parents().active().filter(adapter=Link.Adapter.FEDERATION).values_list("pk", flat=True)
            )
        except Exception:
            log.exception("central: listing links")
            ids = []
        finally:
            close_old_connections()
        for link_id in ids:
            if any(t.is_alive() for t in threads.get(link_id, [])):
                continue
            threads[link_id] = [
                threading.Thread(target=target, args=(link_id, stop), daemon=True, name=f"central-{name}-{link_id}")
                for name, target in (("sender", _sender), ("puller", _puller))
            ]
            for thread in threads[link_id]:
                thread.start()
        stop.wait(rescan)
