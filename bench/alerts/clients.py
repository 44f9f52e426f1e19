"""Simulated devices of the alerts benchmark: N event streams held by one asyncio process (uvloop, raw HTTP/1.1
on asyncio streams: with aiohttp the client used about twice the CPU, taken from the 2 cores the server uses too).

On the `alert` event each device notes its arrival, reads the alert id from the payload, closes the stream (the
hard limit of 20,000 open files a process here cannot hold 10,000 streams plus 10,000 report connections) and
POSTs its `acknowledged` record on a new connection, honouring 429/503 `Retry-After` as a device must; the 200
comes only once the record is committed.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import resource
import time
from datetime import UTC, datetime

import uvloop

from bench.devices.clients import _percentiles
from bench.devices.servers import PYTHON, ROOT

CONNECT_PARALLEL = 256  # connection attempts in flight at once (the server's backlog is finite)
CONNECT_TRIES = 3
DEADLINE = 30.0  # seconds after the click for the event and the acknowledgement
ANSWER_TIMEOUT = 30.0  # seconds for the answer to one acknowledgement POST


class HttpError(Exception):
    pass


def source_address(i: int, network: int = 1) -> tuple[str, int]:
    """A loopback address of its own for simulated device `i` (127.NETWORK.x.y): from one address the 28,000
    ephemeral ports run out within a round (10,000 streams plus every report connection stay in TIME_WAIT for 60 s)
    and connect() then spends seconds searching for a free port, blocking the client's loop; real devices each
    have their own address anyway."""
    high, low = divmod(i, 250)
    return f"127.{network}.{high % 250}.{low + 1}", 0


class _Device:
    __slots__ = ("ack_at", "ack_error", "ack_retries", "event_at", "item", "source", "token")

    def __init__(self, token: str, source: tuple[str, int]):
        self.token, self.source = token, source
        self.event_at: float | None = None  # time.time() when the whole alert frame was read
        self.ack_at: float | None = None  # when the 200 to the acknowledgement arrived
        self.ack_error: str | None = None
        self.ack_retries = 0
        self.item = None  # the event's item kind: "audio" for loudspeakers, None for e-boards


def _count(errors: dict, key: str) -> None:
    errors[key] = errors.get(key, 0) + 1


def _b64url(text: bytes) -> bytes:
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


async def _head(reader) -> tuple[int, dict[str, str]]:
    """The status and headers (lower-case names) of an HTTP/1.1 answer."""
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise HttpError(f"bad status line {lines[0]!r}")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


def _request(method: str, host: str, path: str, token: str, extra: str = "", body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n{extra}"
    if method == "POST":
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
    return (head + "\r\n").encode("latin-1") + body


class _Chunks:
    """The body of a chunked answer (uvicorn streams the SSE response so), piece by piece."""

    def __init__(self, reader):
        self.reader = reader

    async def next(self) -> bytes:
        size = int((await self.reader.readline()).split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            return b""
        data = await self.reader.readexactly(size + 2)
        return data[:-2]


async def _open(host, port, device, errors, sem):
    """An open event stream past its `: connected` comment: (reader, writer, chunks, buffered text) or None."""
    request = _request("GET", f"{host}:{port}", "/device/v1/events", device.token, "Accept: text/event-stream\r\n")
    for attempt in range(CONNECT_TRIES):
        async with sem:
            writer = None
            try:
                reader, writer = await asyncio.open_connection(host, port, local_addr=device.source)
                writer.write(request)
                status, headers = await asyncio.wait_for(_head(reader), 30)
                if status != 200:
                    _count(errors, f"status {status}")
                elif headers.get("transfer-encoding", "").lower() != "chunked":
                    _count(errors, "not chunked")
                else:
                    chunks = _Chunks(reader)
                    buffer = b""
                    while b"\n\n" not in buffer:  # ": connected\n\n"
                        piece = await asyncio.wait_for(chunks.next(), 30)
                        if not piece:
                            raise HttpError("closed at once")
                        buffer += piece
                    return reader, writer, chunks, buffer.split(b"\n\n", 1)[1]
            except (OSError, TimeoutError, HttpError, asyncio.IncompleteReadError, ValueError) as exc:
                _count(errors, type(exc).__name__)
            if writer is not None:
                writer.close()
        await asyncio.sleep(0.5 * (attempt + 1))
    return None


def _alert_block(buffer: bytes) -> tuple[bytes | None, bytes]:
    """The first complete `alert` event in `buffer` (or None) and what is left to parse."""
    while b"\n\n" in buffer:
        block, buffer = buffer.split(b"\n\n", 1)
        if b"\nevent: alert\n" in b"\n" + block + b"\n":
            return block, buffer
    return None, buffer


def _payload(block: bytes) -> dict:
    """What the device acts on. The signature is checked once per distinct frame after the round, not on each
    device: N Ed25519 checks would take CPU from the server, which shares the 2 cores."""
    data = next(line[5:].strip() for line in block.split(b"\n") if line.startswith(b"data:"))
    return json.loads(_b64url(data.partition(b".")[0]))


class _Round:
    """What every device task of a round shares."""

    def __init__(self, host, port, alert_id, acknowledge, reconnect=False):
        self.host, self.port, self.alert_id, self.acknowledge = host, port, alert_id, acknowledge
        self.reconnect = reconnect  # a stream that ends before the alert is opened again (a gateway was killed)
        self.reconnects = 0
        self.on_event = None  # called once, at the first device's alert (mid-fan-out), e.g. to kill a gateway
        self.on_event_result = None
        self.connected: list[float] = []
        self.errors: dict[str, int] = {}
        self.frames: dict[bytes, int] = {}
        self.sem = asyncio.Semaphore(CONNECT_PARALLEL)
        self.deadline = float("inf")  # acknowledgements are retried until DEADLINE after the click

    def fire_on_event(self) -> None:
        hook, self.on_event = self.on_event, None
        if hook is not None:
            self.on_event_result = hook()


async def _device_task(r: _Round, device: _Device) -> None:
    first = True
    while True:
        got = await _read_alert(r, device, first)
        first = False
        if got is not None or not r.reconnect or time.time() > r.deadline:
            break
        r.reconnects += 1
        await asyncio.sleep(0.2)  # as a device backs off before reconnecting; the sticky alert is replayed then
    if got is None:
        return
    block, payload = got
    frame = block + b"\n\n"
    r.frames[frame] = r.frames.get(frame, 0) + 1
    item = payload.get("item")
    device.item = item.get("kind") if isinstance(item, dict) else None
    if r.acknowledge:
        await _acknowledge(r, device, payload["alert"]["id"])


async def _read_alert(r: _Round, device: _Device, first: bool) -> tuple[bytes, dict] | None:
    """Open the stream and read up to the round's alert: (its block, its payload), or None if the stream ended."""
    opened = await _open(r.host, r.port, device, r.errors, r.sem)
    if opened is None:
        return None
    _reader, writer, chunks, buffer = opened
    if first:
        r.connected.append(time.monotonic())
    try:
        while True:
            block, buffer = _alert_block(buffer)
            if block is not None:
                payload = _payload(block)
                if payload["alert"]["id"] == r.alert_id:  # not an earlier alert replayed at connection
                    device.event_at = time.time()
                    r.fire_on_event()
                    break
                continue
            piece = await chunks.next()
            if not piece:
                _count(r.errors, "stream_closed")
                return None
            buffer += piece
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        _count(r.errors, f"stream {type(exc).__name__}")
        return None
    finally:
        writer.close()
    return block, payload


async def _post(host, port, source, request: bytes) -> tuple[int, dict, bytes]:
    reader, writer = await asyncio.open_connection(host, port, local_addr=source)
    try:
        writer.write(request)
        status, headers = await _head(reader)
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        return status, headers, body
    finally:
        writer.close()


async def _acknowledge(r: _Round, device: _Device, alert_id: int) -> None:
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    record = {"seq": 1, "type": "alert", "alert": alert_id, "state": "acknowledged", "at": at}
    body = json.dumps({"records": [record]}).encode()
    request = _request("POST", f"{r.host}:{r.port}", "/device/v1/reports", device.token, body=body)
    while time.time() < r.deadline:
        wait = 1.0
        try:
            answered = _post(r.host, r.port, device.source, request)
            status, headers, answer = await asyncio.wait_for(answered, ANSWER_TIMEOUT)
            if status == 200:
                counts = json.loads(answer)
                if counts.get("stored") == 1 or counts.get("duplicates") == 1:
                    device.ack_at = time.time()
                else:
                    device.ack_error = f"rejected {counts.get('rejected')}"
                return
            _count(r.errors, f"ack status {status}")
            wait = float(headers.get("retry-after", "1"))
        except (OSError, TimeoutError, HttpError, asyncio.IncompleteReadError, ValueError) as exc:
            _count(r.errors, f"ack {type(exc).__name__}")
        device.ack_retries += 1
        device.ack_error = "no answer within the deadline"
        await asyncio.sleep(wait)


async def _approve(env, alert_id: int) -> dict:
    """The approval click, in its own process (Django's ORM is synchronous): {"clicked_at", "approved_at"}."""
    proc = await asyncio.create_subprocess_exec(
        PYTHON, "-m", "bench.alerts.setup", "approve", str(alert_id),
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    if proc.returncode:
        raise RuntimeError(f"approve failed: {err.decode()[-2000:]}")
    return json.loads(out.splitlines()[-1])


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _watch_lag(lags: list[tuple[float, float]]) -> None:
    """How late this process's event loop wakes from a 10 ms sleep: time the client itself adds to what it notes."""
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        await asyncio.sleep(0.01)
        lags.append((time.time(), max(0.0, loop.time() - before - 0.01)))


def loop_lag(lags: list[tuple[float, float]], origin: float) -> dict:
    """Percentiles of the lags (ms), and when the worst one ended (s after `origin`)."""
    percentiles = _percentiles([lag for _t, lag in lags])
    found = {k.replace("_s", "_ms"): round(v * 1000, 1) for k, v in percentiles.items() if v is not None}
    if lags:
        at, _lag = max(lags, key=lambda pair: pair[1])
        found["worst_ended_at_s"] = round(at - origin, 2)
    return found


def timings(values: list[float], n: int, counted: str) -> dict:
    """p50/p99/max of what arrived within the deadline, and `p99_all_s`: the p99 over all `n` devices, counting
    the missing ones as later than the deadline (None when the 99th percentile device is among them)."""
    index = min(n - 1, int(0.99 * n)) if n else 0
    ordered = sorted(values)
    p99_all = round(ordered[index], 4) if index < len(ordered) else None
    return {**_percentiles(values), "p99_all_s": p99_all, counted: len(values), "missing": n - len(values)}


def _since(values, origin: float) -> list[float]:
    return [v - origin for v in values if v is not None and v - origin <= DEADLINE]


async def _run(host, port, tokens, env, alert_id, status_of, cpu_of, acknowledge, after_click) -> dict:
    devices = [_Device(t, source_address(i)) for i, t in enumerate(tokens)]
    r = _Round(host, port, alert_id, acknowledge, reconnect=after_click is not None)
    result: dict = {"devices": len(devices)}
    started = time.monotonic()
    tasks = [asyncio.create_task(_device_task(r, d)) for d in devices]
    try:
        while time.monotonic() < started + 120:
            if len(r.connected) + sum(1 for t in tasks if t.done()) >= len(devices):
                break
            await asyncio.sleep(0.05)
        result["connected"] = len(r.connected)
        result["connect_s"] = round((max(r.connected) if r.connected else time.monotonic()) - started, 3)
        result["connect_errors"] = dict(r.errors)
        await asyncio.sleep(1)
        result["server_connected"] = status_of()
        server_cpu, client_cpu = cpu_of(), _cpu_self()
        # No collector pauses in the client while it measures: everything connected so far lives to the end.
        gc.collect()
        gc.freeze()
        gc.disable()
        r.on_event = after_click  # e.g. kill a gateway while the alert is going out (or at the latest below)
        click = await _approve(env, alert_id)
        clicked = click["clicked_at"]
        r.deadline = clicked + DEADLINE
        if after_click is not None:
            r.fire_on_event()
            result["after_click"] = r.on_event_result
        lags: list[tuple[float, float]] = []
        watcher = asyncio.create_task(_watch_lag(lags))
        while time.time() < clicked + DEADLINE + 2 and not all(t.done() for t in tasks):
            await asyncio.sleep(0.05)
        watcher.cancel()
        result["client_loop_lag"] = loop_lag(lags, clicked)
        last = max([d.ack_at or d.event_at or 0 for d in devices] or [0]) or time.time()
        result["server_cpu_s"] = round(cpu_of() - server_cpu, 2)
        result["client_cpu_s"] = round(_cpu_self() - client_cpu, 2)
        result["window_s"] = round(last - clicked, 2)
        result["server_after"] = status_of()
    finally:
        gc.enable()
        gc.unfreeze()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    events = _since([d.event_at for d in devices], clicked)
    result["clicked_at"] = clicked
    result["approve_commit_s"] = round(click["approved_at"] - clicked, 4)
    result["event"] = timings(events, len(devices), "received")
    result["event_after_commit"] = _percentiles(_since([d.event_at for d in devices], click["approved_at"]))
    if acknowledge:
        acks = _since([d.ack_at for d in devices], clicked)
        result["ack"] = timings(acks, len(devices), "acknowledged")
        result["missing"] = len(devices) - len(acks)
        result["ack_retried_devices"] = sum(1 for d in devices if d.ack_retries)
        ack_failures: dict[str, int] = {}
        for d in devices:
            if d.ack_at is None:
                _count(ack_failures, d.ack_error or ("no event" if d.event_at is None else "not sent"))
        result["ack_failures"] = ack_failures
    kinds: dict[str, int] = {}
    for d in devices:
        if d.event_at is not None:
            _count(kinds, "audio" if d.item == "audio" else "board (item null)")
    result["event_items"] = kinds
    result["errors_total"] = dict(r.errors)
    result["stream_reopened"] = r.reconnects
    result["frames"] = r.frames  # distinct frame bytes → devices (replaced by sizes and a signature check)
    return result


def alert_round(
    host, port, tokens, env, alert_id, status_of, cpu_of, *, acknowledge: bool = True, after_click=None
) -> dict:
    """Connect the N streams, click, and measure (with `acknowledge` False the devices only note the event). With
    `after_click` (called when the first device gets the alert, or once the approval returned if none has yet),
    devices whose stream ends before the alert reconnect."""
    return uvloop.run(_run(host, port, tokens, env, alert_id, status_of, cpu_of, acknowledge, after_click))
