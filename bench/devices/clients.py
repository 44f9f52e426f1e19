"""Load clients of the device benchmark: many SSE devices in one asyncio process, and report senders."""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp
import uvloop

from bench.devices.servers import PYTHON, ROOT
from nguon.lib.signing import verify

CONNECT_PARALLEL = 256  # connection attempts in flight at once (the server's backlog is finite)
CONNECT_TRIES = 3
DEADLINE = 60.0  # seconds after the push for an event (and the new manifest) to arrive


def _percentiles(values: list[float]) -> dict:
    if not values:
        return {"p50_s": None, "p99_s": None, "max_s": None}
    ordered = sorted(values)
    return {
        "p50_s": round(statistics.median(ordered), 4),
        "p99_s": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 4),
        "max_s": round(ordered[-1], 4),
    }


class _Device:
    __slots__ = ("etag", "events", "fetch_error", "inline", "manifest_at", "source", "token")

    def __init__(self, token: str, etag: str):
        self.token, self.etag = token, etag
        self.source = None  # the loopback address it connects from (raw clients)
        self.events: list[float] = []  # arrival time of each "manifest" event
        self.manifest_at = None
        self.fetch_error = None
        self.inline = None  # (body, signature) of a manifest taken from its event


async def _trigger(env, *args) -> dict:
    """Run a `bench.devices.setup` command that writes a push event; return its JSON (with `pushed_at`)."""
    trigger = await asyncio.create_subprocess_exec(
        PYTHON, "-m", "bench.devices.setup", *args,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(trigger.communicate(), 600)
    if trigger.returncode:
        raise RuntimeError(f"setup {args[0]} failed: {err.decode()[-2000:]}")
    return json.loads(out)


def _arrivals(devices, index: int, pushed_at: float) -> dict:
    times = [d.events[index] - pushed_at for d in devices if len(d.events) > index]
    times = [t for t in times if t <= DEADLINE]
    return {**_percentiles(times), "received": len(times), "missing": len(devices) - len(times)}


async def _push(base, tokens, etags, env, change_args, status_of):
    devices = [_Device(t, e) for t, e in zip(tokens, etags, strict=True)]
    connected: list[float] = []
    errors: dict[str, int] = {}
    fetching = asyncio.Event()
    sem = asyncio.Semaphore(CONNECT_PARALLEL)
    result: dict = {"devices": len(devices)}
    from bench.devices import raw  # raw HTTP on uvloop: see its docstring

    host, port = urlsplit(base).hostname, urlsplit(base).port
    started = time.monotonic()
    tasks = [
        asyncio.create_task(raw.stream(host, port, d, i, connected, errors, fetching, sem))
        for i, d in enumerate(devices)
    ]
    # Wait until every stream is open, or its attempts have failed (bounded).
    connect_deadline = started + 120
    while time.monotonic() < connect_deadline:
        if len(connected) + sum(1 for t in tasks if t.done()) >= len(devices):
            break
        await asyncio.sleep(0.05)
    result["connected"] = len(connected)
    result["connect_s"] = round((max(connected) if connected else time.monotonic()) - started, 3)
    result["connect_errors"] = dict(errors)
    await asyncio.sleep(1)
    result["server_connected"] = status_of()
    # Round 1, fan-out alone: a "manifest" event, nothing changed, the devices only note its arrival.
    pushed_at = (await _trigger(env, "event", str(len(devices))))["pushed_at"]
    while time.time() < pushed_at + DEADLINE and sum(1 for d in devices if d.events) < len(connected):
        await asyncio.sleep(0.05)
    result["fanout_event"] = _arrivals(devices, 0, pushed_at)
    # Round 2, a schedule change as an operator makes it: the slot saved through the action (the clock starts
    # before the click), the worker recompiles after commit and writes the push event, each device then fetches
    # the manifest until it is the new one.
    fetching.set()
    click = await _trigger(env, "click", change_args[0])
    clicked_at = click["clicked_at"]
    while time.time() < clicked_at + DEADLINE and not all(t.done() for t in tasks):
        await asyncio.sleep(0.1)
    result["server_after_push"] = status_of()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    pushed_at = (await _trigger(env, "pushed"))["pushed_at"]
    result["change"] = {
        "timed_from": "save click (action committed, worker woken, audiences compiled, push event written)",
        "save_s": round(click["saved_s"], 3),
        "click_to_push_event_s": round(pushed_at - clicked_at, 3) if pushed_at else None,
    }
    pushed_at = clicked_at  # the figures below count from the click
    result["change"]["event"] = _arrivals(devices, 1, pushed_at)
    held = [d.manifest_at - pushed_at for d in devices if d.manifest_at and d.manifest_at <= pushed_at + DEADLINE]
    result["change"]["new_manifest"] = {
        **_percentiles(held),
        "held": len(held),
        "missing": len(devices) - len(held),
        "target": "p99 ≤ 5 s from the click",
    }
    fetch_errors: dict[str, int] = {}
    for d in devices:
        if d.fetch_error and not d.manifest_at:
            fetch_errors[d.fetch_error] = fetch_errors.get(d.fetch_error, 0) + 1
    result["change"]["fetch_errors"] = fetch_errors
    inline = [d.inline for d in devices if d.inline]
    result["change"]["held_from_event"] = len(inline)  # the rest fetched it
    key = (await _trigger(env, "public_key"))["public_key"]
    sample = inline[:: max(1, len(inline) // 50)]
    result["change"]["event_manifests_verified"] = f"{sum(verify(key, b, s) for b, s in sample)}/{len(sample)}"
    result["stream_errors_total"] = dict(errors)
    return result


def push(base, tokens, etags, trigger_env, change_args, status_of) -> dict:
    return uvloop.run(_push(base, tokens, etags, trigger_env, change_args, status_of))


async def _storm(base, tokens, etags, restart, status_of):
    """A server restart with every device reconnecting at once: each revalidates its manifest with its current ETag
    (a 304 expected) and opens its event stream, retrying while the server is not up yet. Timed from the restart."""
    done: list[float] = []
    statuses: dict[str, int] = {}
    errors: dict[str, int] = {}
    streams = []
    sem = asyncio.Semaphore(CONNECT_PARALLEL * 2)

    def note(table, key):
        table[key] = table.get(key, 0) + 1

    async def device(token, etag):
        auth = {"Authorization": f"Bearer {token}"}
        revalidated = False
        for attempt in range(60):
            try:
                async with sem:
                    if not revalidated:
                        headers = {**auth, "If-None-Match": etag}
                        async with session.get(base + "/device/v1/manifest", headers=headers, timeout=30) as r:
                            await r.read()
                            note(statuses, str(r.status))
                            revalidated = r.status in (200, 304)
                    if revalidated:
                        headers = {**auth, "Accept": "text/event-stream"}
                        response = await session.get(base + "/device/v1/events", headers=headers, timeout=None)
                        if response.status == 200 and await asyncio.wait_for(response.content.readline(), 30):
                            streams.append(response)
                            done.append(time.monotonic())
                            return
                        note(errors, f"stream status {response.status}")
                        response.release()
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                note(errors, type(exc).__name__)
            await asyncio.sleep(min(0.1 * (attempt + 1), 1.0))

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        started = time.monotonic()
        server = restart()
        await asyncio.wait_for(
            asyncio.gather(*(device(t, e) for t, e in zip(tokens, etags, strict=True))), DEADLINE * 2
        )
        elapsed = [t - started for t in done]
        result = {
            "devices": len(tokens),
            "timed_from": "the new server process started (devices retry until it listens)",
            "streams_open_and_revalidated": len(done),
            "all_done_s": round(max(elapsed), 3) if elapsed else None,
            **_percentiles(elapsed),
            "manifest_statuses": statuses,
            "retried_errors": errors,
            "server": status_of(server),
            "target": "all done ≤ 15 s, VmHWM ≤ 350 MB",
        }
        for response in streams:
            response.close()
    return result


def storm(base, tokens, etags, restart, status_of) -> dict:
    return asyncio.run(_storm(base, tokens, etags, restart, status_of))


def _heartbeats(first_seq: int, count: int, at: str) -> bytes:
    records = [
        {"seq": s, "type": "heartbeat", "at": at, "volume": 80, "signal": -71, "temperature": 41.5}
        for s in range(first_seq, first_seq + count)
    ]
    return json.dumps({"records": records}).encode()


async def _send(session, url, token, body, totals):
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for _ in range(10):
        try:
            async with session.post(url, data=body, headers=headers, timeout=120) as response:
                if response.status == 200:
                    answer = await response.json()
                    totals["stored"] += answer["stored"]
                    totals["duplicates"] += answer["duplicates"]
                    totals["rejected"] += len(answer["rejected"])
                    return
                totals[f"status_{response.status}"] = totals.get(f"status_{response.status}", 0) + 1
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            totals[type(exc).__name__] = totals.get(type(exc).__name__, 0) + 1
            await asyncio.sleep(1)
    totals["given_up"] = totals.get("given_up", 0) + 1


async def _reports(base, tokens, batches, per_batch):
    url = base + "/device/v1/reports"
    totals = {"stored": 0, "duplicates": 0, "rejected": 0}
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    async def device(token):
        for b in range(batches):
            await _send(session, url, token, _heartbeats(1 + b * per_batch, per_batch, at), totals)

    async def resend(token):  # the first batch again, as after a lost answer: counted once
        await _send(session, url, token, _heartbeats(1, per_batch, at), totals)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        started = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(device(t) for t in tokens)), 400)
        elapsed = time.perf_counter() - started
        first = dict(totals)
        await asyncio.wait_for(asyncio.gather(*(resend(t) for t in tokens)), 200)
    sent = len(tokens) * batches * per_batch
    return {
        "devices": len(tokens),
        "records_sent": sent,
        "batch_records": per_batch,
        "elapsed_s": round(elapsed, 2),
        "records_per_s": round(first["stored"] / elapsed) if elapsed else None,
        "answers": first,
        "resent_records": len(tokens) * per_batch,
        "resend_answers": {k: v - first.get(k, 0) for k, v in totals.items()},
    }


def reports(base, tokens, batches, per_batch) -> dict:
    return asyncio.run(_reports(base, tokens, batches, per_batch))


if __name__ == "__main__":
    sys.exit("use bench.devices_bench")
