"""A small server that follows docs/device-protocol.md, with a real Ed25519 key, for the agent's tests.

It keeps everything in memory and lets a test misbehave on purpose: tamper with a manifest, serve media whose
hash is wrong, answer 429, sign an event with another key, go away and come back on the same port.

Run on its own to give `nguon-agent simulate` something to hold:

    python agent/tests/fake_server.py --devices 10000 --tokens-out /tmp/tokens.jsonl --port 8765
    POST http://127.0.0.1:8765/_admin/bump    new manifest version for every device + a `manifest` event
    POST http://127.0.0.1:8765/_admin/push?type=volume&volume=50    one signed event to every device
    POST http://127.0.0.1:8765/_admin/push?type=alert&alert=17&sha256=<hex>    an alert (no sha256: no item)
    POST http://127.0.0.1:8765/_admin/push?type=alert_cancel&alert=17
    GET  http://127.0.0.1:8765/_admin/stats
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# Every fake device lies in unit 26068 under province 75 and belongs to group 3 (protocol §4.2).
MEMBERSHIPS = {"units": ["75", "26068"], "groups": [3]}


def canonical(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_s(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def public_b64(key: Ed25519PrivateKey) -> str:
    return b64(key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def error(status: int, code: str, message: str = "") -> web.Response:
    return web.json_response({"error": {"code": code, "message": message or code}}, status=status)


@dataclass
class FakeDevice:
    code: str
    name: str
    token: str | None = None
    kind: str = "speaker"
    settings: dict[str, Any] = field(
        default_factory=lambda: {"volume": 80, "grace_seconds": 180, "heartbeat_seconds": 60, "report_batch_max": 500}
    )
    slots: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0
    body: bytes = b""
    signature: str = ""
    etag: str = ""
    valid_from: datetime | None = None
    valid_until: datetime | None = None


class FakeServer:
    def __init__(self, *, keepalive: float = 25.0, server_time_offset: float = 0.0):
        self.key = Ed25519PrivateKey.generate()
        self.other_key = Ed25519PrivateKey.generate()
        self.public_key = public_b64(self.key)
        self.keepalive = keepalive
        self.server_time_offset = server_time_offset  # seconds the server's clock is ahead of real time
        self.devices: dict[str, FakeDevice] = {}
        self.by_token: dict[str, FakeDevice] = {}
        self.codes: dict[str, str] = {}  # enrolment code -> device code
        self.enrol_requests: list[dict[str, Any]] = []
        self.media: dict[str, bytes] = {}
        self.media_override: dict[str, bytes] = {}  # serve these bytes instead (a wrong hash)
        self.media_requests: list[tuple[str, str | None]] = []  # (sha, Range header)
        self.tamper: str | None = None  # "byte" | "key": serve the manifest altered or signed with another key
        self.manifest_down = False  # True: the manifest answers 503 (the device knows only its enrolment answer)
        self.manifest_requests: Counter[str] = Counter()
        self.manifest_200: Counter[str] = Counter()
        self.reports: dict[str, dict[int, dict[str, Any]]] = {}
        self.duplicates: Counter[str] = Counter()
        self.report_requests: list[tuple[float, str, int, int]] = []  # (monotonic, device, records, status)
        self.alert_reports: list[tuple[float, str, dict[str, Any]]] = []  # (monotonic, device, record), new ones
        self.alert_events: dict[int, dict[str, Any]] = {}  # alert id -> its event's payload, kept for replay
        self.replay_alerts = False  # True: every new stream first gets every unexpired alert event again
        self.rate_limit = 0  # answer this many report requests with 429
        self.retry_after = "1"
        self.events_enabled = True  # False: /events answers 404 (a server without push)
        self.alerts_enabled = True  # False: /alerts answers 404 (a server before protocol revision 1.2)
        self.alert_polls: Counter[str] = Counter()  # GET /alerts per device
        self.event_id = 1000
        self.streams: dict[str, set[asyncio.Queue]] = {}
        self.stream_connects: Counter[str] = Counter()
        self.last_event_ids: list[str | None] = []
        self.port = 0
        self.pushed_at = self.last_write = 0.0  # monotonic: last push, last event written to a stream
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()

    # ----- set-up helpers -----

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.server_time_offset)

    def add_device(self, code: str, name: str = "", *, token: str | None = None, enrol_code: str | None = None):
        device = FakeDevice(code=code, name=name or f"Cụm loa {code}")
        self.devices[code] = device
        if token:
            device.token = token
            self.by_token[token] = device
        if enrol_code:
            self.codes[enrol_code.upper()] = code
        self.reports.setdefault(code, {})
        self.publish(code)
        return device

    def add_media(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        self.media[sha] = data
        return sha

    def audio_item(self, sha: str, title: str, duration: float, bulletin: int | None = None) -> dict[str, Any]:
        item = {
            "kind": "audio",
            "title": title,
            "sha256": sha,
            "size": len(self.media[sha]),
            "url": f"/device/v1/media/{sha}",
            "duration": duration,
        }
        if bulletin is not None:
            item.update({"bulletin": bulletin, "revision": 1, "priority": "normal", "pushed": False})
        return item

    def slot(self, slot_id: str, start: datetime, end: datetime, items: list[dict], volume: int = 80) -> dict:
        return {
            "id": slot_id,
            "slot": int(slot_id.split("@")[0]) if slot_id.split("@")[0].isdigit() else 1,
            "name": f"Chương trình {slot_id}",
            "start": iso_s(start),
            "end": iso_s(end),
            "volume": volume,
            "items": items,
        }

    def publish(self, code: str, slots: list[dict] | None = None, **settings: Any) -> int:
        """Compile and sign a new manifest version for the device (as the real server does)."""
        device = self.devices[code]
        if slots is not None:
            device.slots = slots
        device.settings = {**device.settings, **settings}
        device.version += 1
        now = self.now()
        start = device.valid_from or now - timedelta(days=1)
        document = {
            "protocol": 1,
            "version": device.version,
            "device": {"code": device.code, "name": device.name, "kind": device.kind, "unit": "26068", **MEMBERSHIPS},
            "settings": device.settings,
            "timezone": "Asia/Ho_Chi_Minh",
            "valid_from": iso_s(start),
            "valid_until": iso_s(device.valid_until or start + timedelta(days=4)),
            "slots": device.slots,
        }
        device.body = canonical(document)
        device.signature = b64(self.key.sign(device.body))
        device.etag = f'"{device.version}-{hashlib.sha256(device.body).hexdigest()[:16]}"'
        return device.version

    def inline(self, code: str, *, other_key: bool = False) -> str:
        """The device's current manifest as a `manifest` event carries it (protocol §4.4); with `other_key`, signed
        by a key that is not the server's."""
        device = self.devices[code]
        signature = b64(self.other_key.sign(device.body)) if other_key else device.signature
        return f"{device.etag} {b64url(device.body)} {signature}"

    def push(
        self,
        target: str,
        type_: str,
        *,
        bad_signature: bool = False,
        expires_in: float = 300,
        inline: str | None = None,
        **fields,
    ):
        """Send a signed event to one device's streams (or every device for "*"), with `inline` as its `manifest:`
        field if given. Returns its id."""
        self.event_id += 1
        now = self.now()
        payload = {
            "type": type_,
            "id": self.event_id,
            "at": iso(now),
            "expires": iso(now + timedelta(seconds=expires_in)),
            "device": target,
            **fields,
        }
        return self.push_raw(target, payload, bad_signature=bad_signature, inline=inline)

    def push_raw(
        self, target: str, payload: dict[str, Any], *, bad_signature: bool = False, inline: str | None = None
    ) -> int:
        self.pushed_at = time.monotonic()
        message = self.message(payload, bad_signature=bad_signature)
        if inline is not None:
            message = message[:-1] + f"manifest: {inline}\n\n".encode()
        queues = [q for qs in self.streams.values() for q in qs] if target == "*" else self.streams.get(target, set())
        for queue in list(queues):
            queue.put_nowait(message)
        return int(payload["id"])

    def message(self, payload: dict[str, Any], *, bad_signature: bool = False) -> bytes:
        body = canonical(payload)
        key = self.other_key if bad_signature else self.key
        data = f"{b64url(body)}.{b64url(key.sign(body))}"
        return f"id: {payload['id']}\nevent: {payload['type']}\ndata: {data}\n\n".encode()

    def push_alert(
        self,
        target: str,
        alert_id: int,
        item: dict[str, Any] | None = None,
        *,
        replaces: list[int] | tuple[int, ...] = (),
        expires_in: float = 600,
        **alert_fields: Any,
    ) -> int:
        """Push an `alert` event (§4.1) and keep it for replay until it expires. Returns the event id."""
        expires = self.now() + timedelta(seconds=expires_in)
        alert = {
            "id": alert_id,
            "identifier": f"urn:oid:2.49.0.1.704.0.2026.{alert_id}",
            "status": "Actual",
            "msg_type": "Update" if replaces else "Alert",
            "replaces": list(replaces),
            "event": "Lũ lụt",
            "severity": "Severe",
            "urgency": "Immediate",
            "certainty": "Likely",
            "headline": f"Cảnh báo {alert_id}",
            "language": "vi",
            "expires": iso(expires),
            **alert_fields,
        }
        if item is not None:
            item = {**item, "alert": alert_id}
        self.event_id += 1
        payload = {
            "type": "alert",
            "id": self.event_id,
            "at": iso(self.now()),
            "expires": iso(expires),
            "device": target,
            "alert": alert,
            "item": item,
        }
        self.alert_events[alert_id] = payload
        return self.push_raw(target, payload)

    def push_alert_cancel(self, target: str, alert_id: int) -> int:
        self.alert_events.pop(alert_id, None)
        return self.push(target, "alert_cancel", alert={"id": alert_id})

    def connected(self, code: str) -> int:
        return len(self.streams.get(code, ()))

    def stored(self, code: str) -> dict[int, dict[str, Any]]:
        return self.reports.get(code, {})

    # ----- running -----

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._server_time], client_max_size=2 << 20)
        app.router.add_post("/device/v1/enrol", self.enrol)
        app.router.add_get("/device/v1/manifest", self.manifest)
        app.router.add_get("/device/v1/media/{sha}", self.media_get)
        app.router.add_get("/device/v1/events", self.events)
        app.router.add_get("/device/v1/alerts", self.alerts)
        app.router.add_post("/device/v1/reports", self.reports_post)
        app.router.add_post("/_admin/bump", self.admin_bump)
        app.router.add_post("/_admin/push", self.admin_push)
        app.router.add_get("/_admin/stats", self.admin_stats)
        return app

    async def start(self, port: int = 0) -> str:
        self._closing = asyncio.Event()
        self._runner = web.AppRunner(self._app(), handle_signals=False, shutdown_timeout=2.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port or self.port, reuse_address=True, backlog=4096)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self.url

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        """Go away: close the listener and every open stream (the port is kept for start())."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _server_time(self, request: web.Request, handler):
        response = await handler(request)
        if not response.prepared:
            response.headers["X-Server-Time"] = iso(self.now())
        return response

    def _device(self, request: web.Request) -> FakeDevice | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        return self.by_token.get(header[7:])

    # ----- handlers -----

    async def enrol(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            code = str(body["code"]).strip().upper()
        except (ValueError, KeyError, TypeError):
            return error(400, "invalid_code")
        self.enrol_requests.append(body)
        device_code = self.codes.pop(code, None)
        if device_code is None:
            return error(400, "invalid_code")
        device = self.devices[device_code]
        if device.token:
            self.by_token.pop(device.token, None)
        device.token = "nd1_" + secrets.token_urlsafe(24)
        self.by_token[device.token] = device
        return web.json_response(
            {
                "device": {
                    "code": device.code,
                    "name": device.name,
                    "kind": device.kind,
                    "unit": "26068",
                    **MEMBERSHIPS,
                },
                "token": device.token,
                "public_key": self.public_key,
                "protocol": 1,
                "server_time": iso_s(self.now()),
            }
        )

    async def manifest(self, request: web.Request) -> web.Response:
        device = self._device(request)
        if device is None:
            return error(401, "unauthenticated")
        self.manifest_requests[device.code] += 1
        if self.manifest_down:
            return error(503, "unavailable")
        body, signature, etag = device.body, device.signature, device.etag
        if self.tamper == "byte":
            position = body.index(b'"name":"') + 8
            body = body[:position] + bytes([body[position] ^ 0x01]) + body[position + 1 :]
            etag = f'"{device.version}-tampered"'
        elif self.tamper == "key":
            signature = b64(self.other_key.sign(body))
            etag = f'"{device.version}-otherkey"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        self.manifest_200[device.code] += 1
        return web.Response(
            body=body,
            content_type="application/json",
            headers={"ETag": etag, "X-Nguon-Signature": signature, "X-Nguon-Manifest-Version": str(device.version)},
        )

    async def media_get(self, request: web.Request) -> web.Response:
        if self._device(request) is None:
            return error(401, "unauthenticated")
        sha = request.match_info["sha"]
        self.media_requests.append((sha, request.headers.get("Range")))
        if sha not in self.media:
            return error(404, "not_found")
        data = self.media_override.get(sha, self.media[sha])
        headers = {"Accept-Ranges": "bytes", "ETag": f'"{sha}"', "Cache-Control": "public, max-age=31536000, immutable"}
        range_header = request.headers.get("Range", "")
        if range_header.startswith("bytes=") and range_header.endswith("-"):
            start = int(range_header[6:-1])
            if start >= len(data):
                return web.Response(status=416, headers={"Content-Range": f"bytes */{len(data)}"})
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            return web.Response(status=206, body=data[start:], headers=headers, content_type="audio/mpeg")
        return web.Response(body=data, headers=headers, content_type="audio/mpeg")

    async def events(self, request: web.Request) -> web.StreamResponse:
        device = self._device(request)
        if device is None:
            return error(401, "unauthenticated")
        if not self.events_enabled:
            return error(404, "not_found")
        self.last_event_ids.append(request.headers.get("Last-Event-ID"))
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Server-Time": iso(self.now()),
            }
        )
        await response.prepare(request)
        queue: asyncio.Queue = asyncio.Queue()
        if self.replay_alerts:  # as the server does for a device that has not acknowledged them (here: any device)
            now = iso(self.now())
            for payload in self.alert_events.values():
                if payload["expires"] > now:
                    queue.put_nowait(self.message(payload))
        self.streams.setdefault(device.code, set()).add(queue)
        self.stream_connects[device.code] += 1
        closing = asyncio.ensure_future(self._closing.wait())
        try:
            await response.write(b": hello\n\n")
            while not self._closing.is_set():
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, closing}, timeout=self.keepalive, return_when="FIRST_COMPLETED")
                if getter in done:
                    await response.write(getter.result())
                    self.last_write = time.monotonic()
                else:
                    getter.cancel()
                    if closing in done:
                        break
                    await response.write(b": keep-alive\n\n")
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            closing.cancel()
            self.streams.get(device.code, set()).discard(queue)
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await response.write_eof()
        return response

    async def alerts(self, request: web.Request) -> web.Response:
        """GET /alerts (§4.3): every unexpired alert event held, acknowledged or not, whoever it is for (the real
        server drops acknowledged ones and answers a device only its own; here the device's checks are tested)."""
        device = self._device(request)
        if device is None:
            return error(401, "unauthenticated")
        self.alert_polls[device.code] += 1
        if not self.alerts_enabled:
            return error(404, "not_found")
        now = iso(self.now())
        found = []
        for payload in self.alert_events.values():
            if payload["expires"] > now:
                frame = self.message(payload).decode()
                data = frame.split("\ndata: ", 1)[1].rstrip("\n")
                found.append({"id": payload["id"], "type": payload["type"], "data": data})
        return web.json_response({"events": found}, headers={"X-Server-Time": iso(self.now())})

    async def reports_post(self, request: web.Request) -> web.Response:
        device = self._device(request)
        if device is None:
            return error(401, "unauthenticated")
        try:
            records = (await request.json())["records"]
            assert isinstance(records, list)
            seqs = [int(r["seq"]) for r in records]
        except (ValueError, KeyError, TypeError, AssertionError):
            self.report_requests.append((time.monotonic(), device.code, 0, 400))
            return error(400, "invalid_batch")
        if self.rate_limit > 0:
            self.rate_limit -= 1
            self.report_requests.append((time.monotonic(), device.code, len(records), 429))
            response = error(429, "rate_limited")
            response.headers["Retry-After"] = self.retry_after
            return response
        self.report_requests.append((time.monotonic(), device.code, len(records), 200))
        stored_now, duplicates = 0, 0
        box = self.reports.setdefault(device.code, {})
        for seq, record in zip(seqs, records, strict=True):
            if seq in box:
                duplicates += 1
                self.duplicates[device.code] += 1
            else:
                box[seq] = record
                stored_now += 1
                if record.get("type") == "alert":
                    self.alert_reports.append((time.monotonic(), device.code, record))
        return web.json_response(
            {"stored": stored_now, "duplicates": duplicates, "rejected": [], "server_time": iso(self.now())}
        )

    async def admin_bump(self, request: web.Request) -> web.Response:
        for code in self.devices:
            self.publish(code)
        self.push("*", "manifest")
        return web.json_response({"devices": len(self.devices), "event": self.event_id})

    async def admin_push(self, request: web.Request) -> web.Response:
        """Push one event to every device: POST /_admin/push?type=volume&volume=50 (numbers become ints).

        Alerts: `type=alert&alert=17[&sha256=<hex of a file the server holds>&duration=41.5][&replaces=15,16]`
        (without sha256 the alert has no item, as for e-boards); `type=alert_cancel&alert=17`.
        """
        kind = request.query.get("type", "volume")
        if kind in ("alert", "alert_cancel"):
            try:
                alert_id = int(request.query["alert"])
                replaces = [int(a) for a in request.query.get("replaces", "").split(",") if a]
                duration = float(request.query.get("duration", "30"))
            except (KeyError, ValueError):
                return error(400, "invalid_request", "alert=<int> is required")
            if kind == "alert_cancel":
                return web.json_response({"event": self.push_alert_cancel("*", alert_id)})
            sha = request.query.get("sha256")
            if sha and sha not in self.media:
                return error(400, "invalid_request", "unknown sha256")
            item = self.audio_item(sha, f"Cảnh báo {alert_id}", duration) if sha else None
            return web.json_response({"event": self.push_alert("*", alert_id, item, replaces=replaces)})
        fields = {k: int(v) if v.isdigit() else v for k, v in request.query.items() if k != "type"}
        event = self.push("*", kind, **fields)
        return web.json_response({"event": event})

    async def admin_stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "devices": len(self.devices),
                "connected": sum(len(q) for q in self.streams.values()),
                "manifest_requests": sum(self.manifest_requests.values()),
                "manifest_200": sum(self.manifest_200.values()),
                "records": sum(len(r) for r in self.reports.values()),
                "duplicates": sum(self.duplicates.values()),
                "alert_reports": dict(Counter(r["state"] for _, _, r in self.alert_reports)),
                "last_fanout_s": round(self.last_write - self.pushed_at, 3),
            }
        )


def sample_slots(server: FakeServer, now: datetime, days: int = 4) -> list[dict]:
    """Three slots a day for `days` days, two audio items each (like a commune's morning/noon/evening)."""
    sha = next(iter(server.media)) if server.media else server.add_media(b"ID3" + b"\x00" * 4096)
    slots = []
    day0 = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for day in range(days):
        for number, hour in ((1, 22), (2, 5), (3, 10)):
            start = day0 + timedelta(days=day, hours=hour)
            items = [
                {"kind": "stream", "title": "VOV1", "url": "http://127.0.0.1:9/vov1"},
                server.audio_item(sha, f"Bản tin {number}", 180.0, bulletin=40 + number),
            ]
            slots.append(server.slot(f"{number}@{start:%Y-%m-%d}", start, start + timedelta(minutes=30), items))
    return slots


async def _serve(args) -> None:
    server = FakeServer(keepalive=args.keepalive)
    now = server.now()
    tokens = []
    slots = None
    for index in range(args.devices):
        code = f"SIM-{index:05d}"
        token = f"nd1_sim{index:05d}_{secrets.token_hex(8)}"
        server.add_device(code, token=token)
        slots = slots if slots is not None else sample_slots(server, now)
        server.publish(code, slots)
        tokens.append({"token": token, "public_key": server.public_key, "device": {"code": code}})
    with open(args.tokens_out, "w") as handle:
        for row in tokens:
            handle.write(json.dumps(row) + "\n")
    await server.start(args.port)
    print(json.dumps({"url": server.url, "devices": args.devices}), flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--tokens-out", required=True)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--keepalive", type=float, default=25.0)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
