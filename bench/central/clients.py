"""Simulated devices of the federation benchmark: N event streams on the child instance held by one asyncio process
(the alerts benchmark's raw HTTP/1.1 client, each device from a loopback address of its own). Each device notes
the time its `play` frame for the bulletin arrives (the frame names the bulletin's title in its signed payload).
"""

from __future__ import annotations

import asyncio
import gc
import json
import time

import uvloop

from bench.alerts.clients import CONNECT_PARALLEL, _b64url, _count, _open, source_address, timings

DEADLINE = 60.0  # seconds after the click


class _Device:
    __slots__ = ("at", "kind", "source", "token")

    def __init__(self, token: str, source):
        self.token, self.source = token, source
        self.at: float | None = None
        self.kind: str | None = None


def _play_for(buffer: bytes, title: str) -> tuple[dict | None, bytes]:
    """The first complete `play` event for `title` in `buffer` (or None) and what is left to parse."""
    while b"\n\n" in buffer:
        block, buffer = buffer.split(b"\n\n", 1)
        if b"\nevent: play\n" not in b"\n" + block + b"\n":
            continue
        data = next(line[5:].strip() for line in block.split(b"\n") if line.startswith(b"data:"))
        payload = json.loads(_b64url(data.partition(b".")[0]))
        item = payload.get("item") or {}
        if item.get("title") == title:
            return item, buffer
    return None, buffer


async def _device(host, port, device, title_box, errors, sem, connected) -> None:
    opened = await _open(host, port, device, errors, sem)
    if opened is None:
        return
    _reader, writer, chunks, buffer = opened
    connected.append(time.monotonic())
    try:
        while True:
            if title_box:
                item, buffer = _play_for(buffer, title_box[0])
                if item is not None:
                    device.at, device.kind = time.time(), item.get("kind")
                    return
            piece = await chunks.next()
            if not piece:
                _count(errors, "stream_closed")
                return
            buffer += piece
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        _count(errors, f"stream {type(exc).__name__}")
    finally:
        writer.close()


async def _run(host, port, tokens, publish, title) -> dict:
    devices = [_Device(t, source_address(i, network=2)) for i, t in enumerate(tokens)]
    errors: dict[str, int] = {}
    connected: list[float] = []
    title_box: list[str] = []  # set at the click: nothing before it counts
    sem = asyncio.Semaphore(CONNECT_PARALLEL)
    started = time.monotonic()
    tasks = [asyncio.create_task(_device(host, port, d, title_box, errors, sem, connected)) for d in devices]
    try:
        while time.monotonic() < started + 120 and len(connected) + sum(t.done() for t in tasks) < len(devices):
            await asyncio.sleep(0.05)
        result = {"connected": len(connected), "connect_s": round(time.monotonic() - started, 2)}
        await asyncio.sleep(1)
        gc.collect()
        gc.freeze()
        title_box.append(title)
        loop = asyncio.get_running_loop()
        click = await loop.run_in_executor(None, publish)
        clicked = click["clicked_at"]
        while time.time() < clicked + DEADLINE and not all(t.done() for t in tasks):
            await asyncio.sleep(0.05)
    finally:
        gc.unfreeze()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    arrivals = [d.at - clicked for d in devices if d.at is not None and d.at - clicked <= DEADLINE]
    by_kind: dict[str, list[float]] = {}
    for d in devices:
        if d.at is not None:
            by_kind.setdefault(d.kind or "?", []).append(d.at - clicked)
    result |= {
        "click": click,
        "devices": timings(arrivals, len(devices), "received"),
        "by_kind": {k: timings(v, len(v), "received") for k, v in sorted(by_kind.items())},
        "errors": errors,
    }
    return result


def emergency_round(host: str, port: int, tokens: list[str], publish, title: str) -> dict:
    """Connect the N streams, call `publish()` (returns {"clicked_at", …}), and time each device's play frame."""
    return uvloop.run(_run(host, port, tokens, publish, title))
