"""The gateway's ASGI app: routes the four hot device paths, passes everything else to Django."""

from __future__ import annotations

import asyncio
import gc
import logging
import os

import orjson

from nguon.broadcast import device_auth, device_media, events, monitoring, reports
from nguon.broadcast.gateway import db
from nguon.broadcast.gateway.caches import Manifests, MediaFiles, Tokens
from nguon.broadcast.gateway.hub import CLOSE, Hub
from nguon.broadcast.gateway.intake import Intake, IntakeFailed
from nguon.broadcast.gateway.wake import Waker
from nguon.broadcast.protocol import (
    BASE,
    MAX_BATCH_BYTES,
    SHA256,
    Unsatisfiable,
    bearer_token,
    error_body,
    error_status,
    etag_matches,
    media_headers,
    now_utc,
    parse_range,
    server_time,
)

logger = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 25.0
BUSY_RETRY_AFTER = 5
GAP_WAIT_SECONDS = 10.0
OUTBOX_BATCH = 500  # outbox rows per read; a full read is followed by another at once
ONLINE_FLUSH_SECONDS = 0.5  # devices whose streams opened are marked online together, this often
POLLED_MEMORY = 200_000  # (alert event, device) pairs remembered as answered to GET /alerts
MEDIA_CHUNK = 256 * 1024
DRAIN_LIMIT = 8 * MAX_BATCH_BYTES  # a declared body beyond this is refused at once, and the connection closed
_MEDIA_PREFIX = BASE + "/media/"
_JSON = [(b"content-type", b"application/json")]
_POLL_HEADERS = [*_JSON, (b"cache-control", b"no-store")]
# nginx must pass events on at once, not buffer them.
_SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]


def _header(scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _encode(pairs) -> list[tuple[bytes, bytes]]:
    """(name, value) text pairs as ASGI wants them."""
    return [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in pairs]


def _with_stamp(headers: list[tuple[bytes, bytes]], length: int | None) -> list[tuple[bytes, bytes]]:
    """X-Server-Time (and Content-Length unless streaming) before `headers`."""
    stamp = [(b"x-server-time", server_time().encode())]
    if length is not None:
        stamp.append((b"content-length", str(length).encode()))
    return stamp + headers


def _stamped(status: int, headers: list[tuple[bytes, bytes]], length: int | None) -> dict:
    """The response start message, with X-Server-Time (and Content-Length unless streaming)."""
    return {"type": "http.response.start", "status": status, "headers": _with_stamp(headers, length)}


async def _respond(send, status: int, body: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None) -> None:
    # A 304 carries no Content-Length: it would have to be the length of the 200's body (RFC 9110 §8.6).
    await send(_stamped(status, headers or [], None if status == 304 else len(body)))
    await send({"type": "http.response.body", "body": body})


async def _error(send, code: str, *, retry_after: int | None = None, headers=()) -> None:
    extra = [("content-type", "application/json"), *headers]
    if code == "unauthenticated":
        extra.append(("www-authenticate", "Bearer"))
    if retry_after is not None:
        extra.append(("retry-after", retry_after))
    await _respond(send, error_status(code), error_body(code), _encode(extra))


class Gateway:
    def __init__(self, django_app):
        self.django = django_app
        self.tokens = Tokens()
        self.manifests = Manifests()
        self.media = MediaFiles()
        self.hub = Hub()
        self.intake = Intake()
        self.waker: Waker | None = None  # made at warm-up (it needs the database settings and the loop)
        self.report_limiter = reports.RateLimiter(reports.REPORTS_PER_MINUTE)
        self._ready: asyncio.Future | None = None
        self.warm = False  # warmed up: the caches are loaded and the outbox is followed (see `answer_at_once`)
        self._tasks: list[asyncio.Task] = []
        self._last_id = 0
        self._gaps: dict[int, float] = {}  # outbox ids skipped over → when first missed (see _poll_once)
        self._sent: dict[int, tuple[events.DeviceEvent, list[int]]] = {}  # event id → devices reached, to record
        self._opened: list[int] = []  # devices whose streams opened since the last online flush (_note_online)
        self._opened_at = None
        self._polled: set[tuple[int, int]] = set()  # (event id, device id) answered to a poll and noted as sent

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return await self._lifespan(receive, send)
        handler = self._route(scope) if scope["type"] == "http" else None
        if handler is None:
            return await self.django(scope, receive, send)
        try:
            await self._start()
        except Exception:
            logger.exception("device gateway warm-up failed")
            return await _error(send, "unavailable", retry_after=BUSY_RETRY_AFTER)
        return await handler(scope, receive, send)

    def _route(self, scope):
        path, method = scope["path"], scope["method"]
        if method == "GET":
            if path == BASE + "/manifest":
                return self.manifest
            if path == BASE + "/events":
                return self.event_stream
            if path == BASE + "/alerts":
                return self.alerts
        if method in ("GET", "HEAD") and path.startswith(_MEDIA_PREFIX):
            return self.media_file
        if method == "POST" and path == BASE + "/reports":
            return self.post_reports
        # Anything else (enrolment, the OpenAPI pages, a wrong method, an unknown path) is Django's: it answers the
        # last two with the protocol's JSON errors as well.
        return None

    # Start-up and shutdown

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self._start()
                except Exception:
                    # Serve anyway (the back office shows its own errors); the first device request retries.
                    logger.exception("device gateway warm-up failed; retrying at the first device request")
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _start(self) -> None:
        """Warm up once (at lifespan start-up, or at the first device request when the server has no lifespan)."""
        if self._ready is not None and self._ready.done() and self._ready.exception() is None:
            return
        if self._ready is None:
            self._ready = asyncio.ensure_future(self._warm_up())
        try:
            await asyncio.shield(self._ready)
        except Exception:
            self._ready = None  # the database was unreachable: the next request tries again
            raise

    async def _warm_up(self) -> None:
        def read():
            now = now_utc()
            last_id = events.latest_id()
            recent = {e.id: e for e in events.unexpired_sticky(now)}
            recent.update((e.id, e) for e in events.since(now - events.DEFAULT_TTL))
            acked = [pair for loader in events.ACKNOWLEDGED for pair in loader()]
            return last_id, [recent[i] for i in sorted(recent)], acked, device_auth.active_tokens()

        self._last_id, recent, acked, tokens = await db.run(read)
        for event in recent:
            if not event.internal:
                self.hub.remember(event)
        self.hub.note_acks(acked)
        self.tokens.preload(tokens)
        self.intake.start()
        self.waker = Waker(self.hub.note_acks)
        await self.waker.start()
        self._tasks = [asyncio.create_task(self._poll_outbox()), asyncio.create_task(self._keepalive())]
        # Everything loaded so far lives as long as the process: keep it out of the collector's way, or full
        # collections walk it all and pause every stream (~0.9 s at 10,000 connections).
        gc.collect()
        gc.freeze()
        self.warm = True
        logger.info(
            "device gateway ready (pid %s, %d tokens, outbox at %d, woken by %s)",
            os.getpid(), len(tokens), self._last_id, self.waker.mode,
        )  # fmt: skip

    async def _stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        self.hub.disconnect(None)
        self._record_sent()
        self._flush_online()
        if self.waker is not None:
            await self.waker.stop()
        await self.intake.stop()

    # The outbox

    async def _poll_outbox(self) -> None:
        # Read the outbox whenever the database says it changed (wake.py), and every `waker.safety` seconds anyway.
        while True:
            full = False
            try:
                full = await self._poll_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("reading the push outbox failed")
                await asyncio.sleep(1)
            self._record_sent()
            if not full:
                await self.waker.wait()

    async def _poll_once(self) -> bool:
        """Dispatch what is new in the outbox; True when there may be more than one read returns."""
        # Race: on PostgreSQL ids come from a sequence when a row is inserted, not when it commits, so id 41 can
        # become visible after id 42. An id skipped over is a gap, read again until it shows up or
        # GAP_WAIT_SECONDS pass (then it belonged to a rolled-back transaction). Still one query per poll.
        loop_time = asyncio.get_running_loop().time()
        self._gaps = {i: t for i, t in self._gaps.items() if loop_time - t < GAP_WAIT_SECONDS}
        # With wake-ups, a gap's own commit sends one (the trigger fires in its transaction), so gaps are re-read
        # as soon as they fill; without one (rolled back), at each later wake-up until GAP_WAIT_SECONDS pass.
        floor = min(self._gaps) - 1 if self._gaps else self._last_id
        found = await db.run(events.after, floor, OUTBOX_BATCH)
        for event in found:
            if event.id <= self._last_id and self._gaps.pop(event.id, None) is None:
                continue  # handled already
            if event.id > self._last_id:
                if event.id - self._last_id <= 1000:
                    self._gaps.update((i, loop_time) for i in range(self._last_id + 1, event.id))
                self._last_id = event.id
            await self._dispatch(event)
        return len(found) >= OUTBOX_BATCH

    async def _dispatch(self, event: events.DeviceEvent) -> None:
        if event.type == "revoke":
            self.tokens.revoke(event.device_ids)
            self.hub.disconnect(event.device_ids)
            return
        if event.type == "enrolled":
            self.hub.forget_acks(event.device_ids or ())
            return
        if event.internal:
            return
        if event.type == "manifest":
            # Reload before telling the devices, so that the fetch each of them makes now finds the new manifest.
            # This holds back later events for the few milliseconds it takes, which keeps them in order.
            try:
                await self.manifests.changed(event.device_ids)
            except Exception:  # the old entries are gone already: the devices' fetches load the new ones
                logger.exception("reloading changed manifests failed")
        now = now_utc()
        if not event.expired(now):
            reached = self.hub.publish(event, self._inline_manifest if event.type == "manifest" else None)
            self._note_sent(event, reached, now)

    def _inline_manifest(self, device_id: int) -> bytes:
        """The device's current manifest as a field of its `manifest` event (§4.4), when it is in memory."""
        entry = self.manifests.cached(device_id)
        return entry.inline_line() if entry is not None else b""

    def _note_sent(self, event: events.DeviceEvent, device_ids: list[int], now) -> None:
        """Remember that these devices were sent the event; recorded by `_record_sent` at the next poll, so that a
        wave of reconnecting devices (each replayed an alert) makes one write per event, not one per device."""
        if device_ids and event.type in events.ON_SENT:
            self._sent.setdefault(event.id, (event, []))[1].extend(device_ids)

    def _record_sent(self) -> None:
        now = now_utc()
        for event, device_ids in self._sent.values():
            self.intake.later(events.ON_SENT[event.type], event, device_ids, now)
        self._sent = {}

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE_SECONDS)
            self.hub.keepalive()
            self.hub.forget_expired(now_utc())

    # Handlers

    async def _device(self, scope):
        token = bearer_token(_header(scope, b"authorization"))
        return await self.tokens.device(token) if token else None

    async def manifest(self, scope, receive, send) -> None:
        # The hottest path (every device, every minute when polling; a whole province after a restart): headers are
        # encoded once per manifest, the two request headers are found in one pass, and the usual If-None-Match (the
        # device's one ETag) is compared as bytes before any parsing.
        authorization = if_none_match = None
        for key, value in scope["headers"]:
            if key == b"authorization":
                authorization = value
            elif key == b"if-none-match":
                if_none_match = value
        token = bearer_token(authorization.decode("latin-1")) if authorization else None
        device = await self.tokens.device(token) if token else None
        if device is None:
            return await _error(send, "unauthenticated")
        entry = await self.manifests.get(device.id)
        if entry is None:
            return await self.django(scope, receive, send)  # not compiled yet: Django compiles it
        if if_none_match is not None and (
            if_none_match == entry.etag_bytes or etag_matches(if_none_match.decode("latin-1"), entry.etag)
        ):
            return await _respond(send, 304, headers=entry.headers_304)
        await _respond(send, 200, entry.body, entry.headers_200)

    def answer_at_once(self, headers: list[tuple[bytes, bytes]]) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """GET /manifest answered from memory alone, without a task or a query: (status, headers, body) when the
        token and the manifest are both cached, else None (then `manifest` answers it as any other request). The
        HTTP protocol's fast path (fastpath.py) calls it; the answer is the one `manifest` gives."""
        if not self.warm:
            return None
        authorization = if_none_match = None
        for key, value in headers:
            if key == b"authorization":
                authorization = value
            elif key == b"if-none-match":
                if_none_match = value
        token = bearer_token(authorization.decode("latin-1")) if authorization else None
        device = self.tokens.cached(token) if token else None
        entry = self.manifests.cached(device.id) if device is not None else None
        if entry is None:
            return None
        if if_none_match is not None and (
            if_none_match == entry.etag_bytes or etag_matches(if_none_match.decode("latin-1"), entry.etag)
        ):
            return 304, _with_stamp(entry.headers_304, None), b""
        return 200, _with_stamp(entry.headers_200, len(entry.body)), entry.body

    async def media_file(self, scope, receive, send) -> None:
        device = await self._device(scope)
        if device is None:
            return await _error(send, "unauthenticated")
        sha256 = scope["path"][len(_MEDIA_PREFIX) :]
        if not SHA256.fullmatch(sha256):
            return await _error(send, "not_found")
        entry = await self.manifests.get(device.id)
        if entry is None:
            return await self.django(scope, receive, send)
        now = now_utc()
        permitted = device_media.allowed(
            sha256, manifest_hashes=entry.hashes, events=self.hub.recent, device_id=device.id, now=now
        )
        found = await self.media.get(sha256) if permitted else None
        if found is None:
            return await _error(send, "not_found")
        path = found.path
        if path is None:
            return await self.django(scope, receive, send)  # not on this filesystem (S3): Django streams it
        if etag_matches(_header(scope, b"if-none-match"), f'"{sha256}"'):
            return await _respond(send, 304, headers=_encode([("etag", f'"{sha256}"')]))
        if found.accel_redirect:
            # Authorised: nginx sends the file from disk, Range and HEAD included (deploy/nginx.conf).
            # nginx keeps Content-Type and Cache-Control from here and adds Accept-Ranges and Content-Length itself.
            headers = [h for h in media_headers(found.sha256, found.mime_type) if h[0] != "Accept-Ranges"]
            headers.append(("x-accel-redirect", found.accel_redirect))
            return await _respond(send, 200, headers=_encode(headers))
        try:
            wanted = parse_range(_header(scope, b"range"), found.size)
        except Unsatisfiable:
            return await _error(send, "range_not_satisfiable", headers=[("content-range", f"bytes */{found.size}")])
        try:
            handle = await asyncio.to_thread(open, path, "rb")
        except OSError:
            logger.error("media file %s is missing from storage", path)
            return await _error(send, "not_found")
        try:
            await self._send_file(send, handle, found, wanted, head=scope["method"] == "HEAD")
        finally:
            handle.close()

    async def _send_file(self, send, handle, found: device_media.MediaFile, wanted, *, head: bool = False) -> None:
        first, last = wanted or (0, found.size - 1)
        remaining = last - first + 1
        headers = media_headers(found.sha256, found.mime_type)
        if wanted:
            headers.append(("content-range", f"bytes {first}-{last}/{found.size}"))
        await send(_stamped(206 if wanted else 200, _encode(headers), remaining))
        if head:  # the headers of a GET, Content-Length included, and no body
            await send({"type": "http.response.body", "body": b""})
            return
        if first:
            await asyncio.to_thread(handle.seek, first)
        while remaining > 0:
            data = await asyncio.to_thread(handle.read, min(MEDIA_CHUNK, remaining))
            if not data:
                break  # the file is shorter than recorded; the client sees a short body and retries
            remaining -= len(data)
            await send({"type": "http.response.body", "body": data, "more_body": remaining > 0})
        if remaining > 0:
            await send({"type": "http.response.body", "body": b""})

    async def event_stream(self, scope, receive, send) -> None:
        device = await self._device(scope)
        if device is None:
            return await _error(send, "unauthenticated")
        last_id = events.parse_last_event_id(_header(scope, b"last-event-id"))
        now = now_utc()
        stream, replayed = self.hub.open(device, last_id, now)
        for event in replayed:
            self._note_sent(event, [device.id], now)
        self._note_online(device.id, now)
        watcher = asyncio.create_task(self._watch_disconnect(receive, stream))
        try:
            await send(_stamped(200, _SSE_HEADERS, None))
            await send({"type": "http.response.body", "body": events.CONNECTED, "more_body": True})
            while (frame := await stream.queue.get()) is not CLOSE:
                await send({"type": "http.response.body", "body": frame, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        except OSError:
            pass  # the client went away mid-write
        except asyncio.CancelledError:
            # Shutdown: uvicorn waits for open responses, and streams never end by themselves, so the server is run
            # with a graceful-shutdown timeout after which it cancels them. End quietly; the device reconnects.
            pass
        finally:
            self.hub.close(stream)
            watcher.cancel()

    def _note_online(self, device_id: int, now) -> None:
        """A device opened its stream: it is online. Marked with the others that opened within
        ONLINE_FLUSH_SECONDS in one job of the writer thread, so a reconnect storm makes a few statements, not one
        per device."""
        if not self._opened:
            self._opened_at = now
            asyncio.get_running_loop().call_later(ONLINE_FLUSH_SECONDS, self._flush_online)
        self._opened.append(device_id)

    def _flush_online(self) -> None:
        if self._opened:
            self.intake.later(monitoring.mark_online, self._opened, self._opened_at, "stream")
            self._opened = []

    async def alerts(self, scope, receive, send) -> None:
        """GET /alerts (protocol §4.3): the alert events a stream would replay to this device now, for devices that
        poll. Answered from the hub's memory: no query per poll."""
        device = await self._device(scope)
        if device is None:
            return await _error(send, "unauthenticated")
        now = now_utc()
        current = self.hub.missed(device.id, None, now)
        for event in current:
            # Noted once per device: a device answered again before its acknowledgement arrives adds no write.
            if (event.id, device.id) not in self._polled:
                if len(self._polled) >= POLLED_MEMORY:
                    self._polled.clear()  # a repeated "sent" mark changes nothing (states never go back)
                self._polled.add((event.id, device.id))
                self._note_sent(event, [device.id], now)
        await _respond(send, 200, events.poll_answer(current, device.code), _POLL_HEADERS)

    @staticmethod
    async def _watch_disconnect(receive, stream) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        stream.queue.put_nowait(CLOSE)

    async def post_reports(self, scope, receive, send) -> None:
        device = await self._device(scope)
        if device is None:
            return await _error(send, "unauthenticated")
        wait = self.report_limiter.hit(device.id)
        if wait:
            return await _error(send, "rate_limited", retry_after=wait)
        if self.intake.busy():
            return await _error(send, "rate_limited", retry_after=BUSY_RETRY_AFTER)
        declared = _header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > DRAIN_LIMIT:
            return await _error(send, "too_large", headers=[("connection", "close")])
        body, received = bytearray(), 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > DRAIN_LIMIT:
                return await _error(send, "too_large", headers=[("connection", "close")])
            if len(body) <= MAX_BATCH_BYTES:
                body += chunk
            if not message.get("more_body"):
                break
        # Quirk: a too-large batch is read to its end (up to DRAIN_LIMIT) before the 413. Answering while the device
        # is still sending would reach it as a broken pipe, not as an answer it can act on.
        if len(body) > MAX_BATCH_BYTES:
            return await _error(send, "too_large")
        try:
            batch = reports.parse(bytes(body), device_id=device.id, now=now_utc())
        except reports.BatchError as refusal:
            return await _error(send, refusal.code)
        try:
            await self.intake.submit(batch)
        except IntakeFailed:
            return await _error(send, "unavailable", retry_after=BUSY_RETRY_AFTER)
        if batch.device_gone:
            return await _error(send, "unauthenticated")
        acks = [(r["alert"], device.id) for r in batch.records if r["type"] == "alert"]
        if acks:
            self.hub.note_acks(acks)
            # Committed by now: the other gateways learn it too, so none replays the alert to this device.
            self.waker.share_acks(acks)
        await _respond(send, 200, orjson.dumps(batch.answer()), _JSON)
