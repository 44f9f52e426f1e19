"""Wakes the gateway when the outbox has new rows, and shares acknowledgements between gateway processes.

Three ways, chosen by NGUON_GATEWAY_WAKE (`auto`: PostgreSQL when the database is PostgreSQL, else Redis when
NGUON_REDIS_URL is set, else polling):

- `postgres`: LISTEN on `nguon_outbox`, which a statement-level trigger on the outbox table NOTIFYs (migration
  broadcast 0005): every insert path wakes every gateway at commit, and a rolled-back insert wakes nobody.
- `redis`: SUBSCRIBE to `nguon:outbox`, published from Python after the commit of every outbox insert
  (`outbox_written`, called by PushEvent.save and bulk_create).
- `poll`: no message at all (SQLite, one process): the gateway reads the outbox every POLL_SECONDS (one indexed
  lookup).

Notifications can be lost (the listening connection drops, the database restarts), so the gateway also reads the
outbox every SAFETY_SECONDS whatever happens: a lost notification costs at most that. The listener reconnects by
itself and wakes the gateway once it is back, for whatever committed meanwhile.

Acknowledgements: a gateway that takes an acknowledgement tells the others on `nguon_acks` (`nguon:acks`), after
the intake committed it, so that a device reconnecting to another gateway is not replayed the alert it
acknowledged. A lost message costs one replay the device ignores (it already has the alert; receipts are
idempotent), never a lost alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import connection, transaction

logger = logging.getLogger(__name__)

OUTBOX_CHANNEL = "nguon_outbox"  # also in migration broadcast 0005
ACKS_CHANNEL = "nguon_acks"
REDIS_OUTBOX = "nguon:outbox"
REDIS_ACKS = "nguon:acks"
SAFETY_SECONDS = 1.0  # the outbox is read at least this often even when no notification came
POLL_SECONDS = 0.05  # without notifications (SQLite): read this often
ACK_BATCH_SECONDS = 0.02  # acknowledgements taken within this are shared in one message
PAYLOAD_LIMIT = 7900  # NOTIFY payloads must stay under 8000 bytes
RECONNECT_MAX_SECONDS = 5.0

Pair = tuple[int, int]  # (alert id, device id)


def mode() -> str:
    """How gateways are woken here: "postgres", "redis" or "poll"."""
    chosen = settings.GATEWAY_WAKE
    if chosen == "postgres" and connection.vendor != "postgresql":
        return "poll"
    if chosen != "auto":
        return chosen
    if connection.vendor == "postgresql":
        return "postgres"
    return "redis" if settings.REDIS_URL else "poll"


# Acknowledgement messages: "alert:device,device;alert:device" (compact: a NOTIFY payload is at most 8000 bytes).


def encode_acks(pairs: Iterable[Pair]) -> list[str]:
    """Messages carrying these pairs, each within PAYLOAD_LIMIT."""
    by_alert: dict[int, list[int]] = {}
    for alert_id, device_id in pairs:
        by_alert.setdefault(alert_id, []).append(device_id)
    messages, parts, size = [], [], 0
    for alert_id, device_ids in sorted(by_alert.items()):
        for i in range(0, len(device_ids), 500):
            part = f"{alert_id}:" + ",".join(map(str, device_ids[i : i + 500]))
            if parts and size + len(part) + 1 > PAYLOAD_LIMIT:
                messages.append(";".join(parts))
                parts, size = [], 0
            parts.append(part)
            size += len(part) + 1
    if parts:
        messages.append(";".join(parts))
    return messages


def decode_acks(payload: str) -> list[Pair]:
    pairs = []
    for part in filter(None, payload.split(";")):
        alert, _, devices = part.partition(":")
        pairs.extend((int(alert), int(d)) for d in devices.split(",") if d)
    return pairs


# The writing side (any process that writes outbox rows)

_redis_client = None


def outbox_written() -> None:
    """After the current transaction commits, tell the gateways (Redis only: PostgreSQL's trigger does it)."""
    if mode() == "redis":
        transaction.on_commit(_publish_outbox)


def _publish_outbox() -> None:
    global _redis_client
    try:
        if _redis_client is None:
            import redis

            _redis_client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        _redis_client.publish(REDIS_OUTBOX, b"")
    except Exception:
        # The gateways' safety poll finds the rows within SAFETY_SECONDS anyway.
        logger.warning("could not tell the gateways through Redis; they find the push within %.0f s", SAFETY_SECONDS)
        _redis_client = None


# The gateway's side


def _pg_params() -> dict:
    db = connection.settings_dict
    params = {"dbname": db["NAME"], "user": db["USER"], "password": db["PASSWORD"], "host": db["HOST"]}
    params = {k: v for k, v in params.items() if v}
    if db["PORT"]:
        params["port"] = db["PORT"]
    skip = {"pool", "server_side_binding", "isolation_level", "assume_role", "cursor_factory", "context"}
    params.update((k, v) for k, v in db.get("OPTIONS", {}).items() if k not in skip)
    # A listener that waits for ever must notice a dead server or network, not wait on a silent socket.
    params.update(keepalives=1, keepalives_idle=20, keepalives_interval=5, keepalives_count=3)
    return params


class Waker:
    """One per gateway process: `wait()` returns when the outbox may have new rows (or after the safety delay)."""

    def __init__(self, on_acks: Callable[[list[Pair]], None], *, wake_mode: str | None = None):
        self.mode = wake_mode or mode()
        self.safety = POLL_SECONDS if self.mode == "poll" else SAFETY_SECONDS
        self.listening = asyncio.Event()  # set while notifications can arrive (tests wait for it)
        self._on_acks = on_acks
        self._woken = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._pending: list[Pair] = []
        self._flush: asyncio.Task | None = None
        self._sender = None  # a PostgreSQL connection, or a Redis client, to send acknowledgements
        self._params: dict | None = None

    async def start(self) -> None:
        if self.mode == "postgres":
            self._params = await asyncio.to_thread(_pg_params)
            self._tasks.append(asyncio.create_task(self._forever(self._listen_postgres)))
        elif self.mode == "redis":
            self._tasks.append(asyncio.create_task(self._forever(self._listen_redis)))

    async def stop(self) -> None:
        for task in [*self._tasks, *([self._flush] if self._flush else [])]:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tasks = []
        await self._close_sender()

    def wake(self) -> None:
        self._woken.set()

    async def wait(self, timeout: float | None = None) -> bool:
        """Until woken (True) or `timeout` (default: the safety delay) passed (False). Clears the wake-up, so one
        that arrives while the caller reads the outbox makes the next wait return at once."""
        try:
            await asyncio.wait_for(self._woken.wait(), self.safety if timeout is None else timeout)
            woken = True
        except TimeoutError:
            woken = False
        self._woken.clear()
        return woken

    # Listening

    async def _forever(self, listen) -> None:
        delay = 0.5
        while True:
            try:
                await listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("gateway wake-up channel (%s) lost: %s; reconnecting", self.mode, exc)
            if self.listening.is_set():
                delay = 0.5  # it was connected: a fresh outage
            self.listening.clear()
            self.wake()  # read the outbox now, for whatever committed while nothing listened
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    async def _listen_postgres(self) -> None:
        import psycopg

        async with await psycopg.AsyncConnection.connect(**self._params, autocommit=True) as conn:
            await conn.execute(f"LISTEN {OUTBOX_CHANNEL}")
            await conn.execute(f"LISTEN {ACKS_CHANNEL}")
            self.listening.set()
            self.wake()
            async for note in conn.notifies():
                if note.channel == OUTBOX_CHANNEL:
                    self.wake()
                else:
                    self._received_acks(note.payload)

    async def _listen_redis(self) -> None:
        import redis.asyncio as aioredis

        client = aioredis.from_url(settings.REDIS_URL, socket_connect_timeout=5, health_check_interval=20)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(REDIS_OUTBOX, REDIS_ACKS)
            self.listening.set()
            self.wake()
            async for message in pubsub.listen():
                if message["channel"] == REDIS_OUTBOX.encode():
                    self.wake()
                else:
                    self._received_acks(message["data"].decode())
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            with contextlib.suppress(Exception):
                await client.aclose()

    def _received_acks(self, payload: str) -> None:
        try:
            pairs = decode_acks(payload)
        except ValueError:
            logger.warning("ignored a malformed acknowledgement message")
            return
        self._on_acks(pairs)

    # Sharing acknowledgements

    def share_acks(self, pairs: Iterable[Pair]) -> None:
        """Tell every gateway (this one included) about acknowledgements committed here, shortly, in few messages."""
        if self.mode == "poll":
            return
        self._pending.extend(pairs)
        if self._pending and self._flush is None:
            self._flush = asyncio.create_task(self._send_pending())

    async def _send_pending(self) -> None:
        try:
            await asyncio.sleep(ACK_BATCH_SECONDS)
            pairs, self._pending = self._pending, []
            for payload in encode_acks(pairs):
                await self._send(payload)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The other gateways may replay those alerts once to devices that reconnect to them; no loss.
            logger.warning("could not share acknowledgements with the other gateways: %s", exc)
            await self._close_sender()
        finally:
            self._flush = None
            if self._pending:
                self._flush = asyncio.create_task(self._send_pending())

    async def _send(self, payload: str) -> None:
        if self.mode == "postgres":
            import psycopg

            if self._sender is None or self._sender.closed:
                self._sender = await psycopg.AsyncConnection.connect(**self._params, autocommit=True)
            await self._sender.execute("SELECT pg_notify(%s, %s)", (ACKS_CHANNEL, payload))
        else:
            import redis.asyncio as aioredis

            if self._sender is None:
                self._sender = aioredis.from_url(settings.REDIS_URL, socket_connect_timeout=5)
            await self._sender.publish(REDIS_ACKS, payload)

    async def _close_sender(self) -> None:
        sender, self._sender = self._sender, None
        if sender is not None:
            with contextlib.suppress(Exception):
                await (sender.close() if self.mode == "postgres" else sender.aclose())
