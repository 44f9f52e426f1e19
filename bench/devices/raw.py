"""The push round's devices on raw HTTP/1.1 over asyncio streams (uvloop), as the alerts benchmark's clients.

With aiohttp, 10,000 streams and the 10,000 manifest fetches that follow a change saturated the client's own event
loop: the gateway sat idle ~30% of the round (py-spy) while the client noted events seconds late. Each device also
connects from a loopback address of its own (127.2.x.y), so that 20,000 connections from one process do not make
connect() search the ephemeral ports of one address.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time

from bench.alerts.clients import HttpError, _count, _head, _open, _request, source_address

READ_TIMEOUT = 30.0


def _blocks(buffer: bytes) -> tuple[list[bytes], bytes]:
    """The complete SSE blocks in `buffer` and what is left."""
    *blocks, rest = buffer.split(b"\n\n")
    return blocks, rest


async def stream(host, port, device, index, connected, errors, fetching, sem) -> None:
    """Hold one event stream and note each "manifest" event; once `fetching` is set, the next one makes the device
    take the new manifest the event carries (protocol §4.4), or else close the stream and fetch it until it is the
    new one."""
    device.source = source_address(index, network=2)
    opened = await _open(host, port, device, errors, sem)
    if opened is None:
        return
    _reader, writer, chunks, buffer = opened
    connected.append(time.monotonic())
    try:
        fetch = False
        while not fetch:
            blocks, buffer = _blocks(buffer)
            for block in blocks:
                if b"\nevent: manifest" in b"\n" + block:
                    device.events.append(time.time())
                    if fetching.is_set():
                        if take_inline(device, block):
                            return
                        fetch = True
                        break
            if fetch:
                break
            piece = await chunks.next()
            if not piece:
                _count(errors, "stream_closed")
                return
            buffer += piece
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        _count(errors, f"stream {type(exc).__name__}")
        return
    finally:
        writer.close()
    # Closed before the fetch: the hard open-file limit here (20,000 a process, not raisable) cannot hold
    # 10,000 streams plus 10,000 fetch connections in one client process.
    await fetch_new(host, port, device)


def take_inline(device, block: bytes) -> bool:
    """The new manifest from the event's `manifest:` field, when it is there and newer than the device's (the
    signature is checked on a sample after the round, as the fetch path leaves it to the device too)."""
    line = next((x for x in block.split(b"\n") if x.startswith(b"manifest: ")), None)
    if line is None:
        return False
    etag, encoded, signature = line[10:].decode("ascii").split(" ")
    body = base64.urlsafe_b64decode(encoded)
    if etag == device.etag or json.loads(body)["version"] <= int(device.etag.strip('"').split("-")[0]):
        return False
    device.manifest_at = time.time()
    device.inline = (body, signature)
    return True


async def fetch_new(host, port, device) -> None:
    request = _request(
        "GET", f"{host}:{port}", "/device/v1/manifest", device.token,
        f"If-None-Match: {device.etag}\r\nConnection: close\r\n",
    )  # fmt: skip
    for _ in range(3):
        writer = None
        try:
            reader, writer = await asyncio.open_connection(host, port, local_addr=device.source)
            writer.write(request)
            status, headers = await asyncio.wait_for(_head(reader), READ_TIMEOUT)
            body = await asyncio.wait_for(reader.readexactly(int(headers.get("content-length", "0"))), READ_TIMEOUT)
            new = status == 200 and headers.get("etag") != device.etag
            if new and int(headers["x-nguon-manifest-version"]) == json.loads(body)["version"]:
                device.manifest_at = time.time()
                return
            device.fetch_error = f"status {status}"
        except (OSError, TimeoutError, HttpError, asyncio.IncompleteReadError, ValueError, KeyError) as exc:
            device.fetch_error = type(exc).__name__
        finally:
            if writer is not None:
                writer.close()
        await asyncio.sleep(0.2)
