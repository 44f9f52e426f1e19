"""The Mosquitto reference of the alerts benchmark: N MQTT subscribers (QoS 1) in one asyncio process, one
publish of the same payload bytes, time from the publish to each subscriber's receipt.

A minimal MQTT 3.1.1 client over asyncio streams (CONNECT/CONNACK, SUBSCRIBE/SUBACK, PUBLISH/PUBACK,
DISCONNECT): paho-mqtt runs a thread per client, which does not scale to 10,000 here. Each subscriber, on the
message, sends its PUBACK, then publishes its own acknowledgement (QoS 1, to `ACK_TOPIC`, which nobody reads) and
notes when the broker's PUBACK for it comes back: the MQTT counterpart of a device's report answered once stored
(Mosquitto keeps it in memory; nguon commits it to the database).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import socket
import struct
import time
from pathlib import Path

import uvloop

from bench.alerts.clients import _watch_lag, loop_lag, source_address, timings
from bench.devices.servers import Process, free_port

TOPIC = "nguon/bench/alerts"
ACK_TOPIC = "nguon/bench/acks"
CONNECT_PARALLEL = 64  # Mosquitto listens with a backlog of 100: more in flight loses SYNs (1 s retries)
CONNECT_TRIES = 3
DEADLINE = 30.0
KEEPALIVE = 600  # seconds: no PINGREQ during a round

CONNECT, CONNACK, PUBLISH, PUBACK, SUBSCRIBE, SUBACK, DISCONNECT = 1, 2, 3, 4, 8, 9, 14


class MqttError(Exception):
    pass


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("!H", len(data)) + data


def _packet(kind: int, flags: int, body: bytes) -> bytes:
    length, encoded = len(body), bytearray()
    while True:  # the remaining length: 7 bits a byte, the high bit says "more"
        byte, length = length % 128, length // 128
        encoded.append(byte | (0x80 if length else 0))
        if not length:
            break
    return bytes([kind << 4 | flags]) + bytes(encoded) + body


def connect_packet(client_id: str) -> bytes:
    # protocol name "MQTT", level 4 (3.1.1), flags: clean session
    return _packet(CONNECT, 0, _string("MQTT") + bytes([4, 0x02]) + struct.pack("!H", KEEPALIVE) + _string(client_id))


def subscribe_packet(packet_id: int, topic: str, qos: int = 1) -> bytes:
    return _packet(SUBSCRIBE, 0x02, struct.pack("!H", packet_id) + _string(topic) + bytes([qos]))


def publish_packet(packet_id: int, topic: str, payload: bytes) -> bytes:
    return _packet(PUBLISH, 0x02, _string(topic) + struct.pack("!H", packet_id) + payload)  # QoS 1


def puback_packet(packet_id: int) -> bytes:
    return _packet(PUBACK, 0, struct.pack("!H", packet_id))


async def read_packet(reader: asyncio.StreamReader) -> tuple[int, int, bytes]:
    first = await reader.readexactly(1)
    length, shift = 0, 0
    while True:
        byte = (await reader.readexactly(1))[0]
        length += (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
    body = await reader.readexactly(length) if length else b""
    return first[0] >> 4, first[0] & 0x0F, body


class _Client:
    __slots__ = ("ack_at", "error", "received_at", "reader", "writer")

    def __init__(self):
        self.reader = self.writer = None
        self.received_at: float | None = None
        self.ack_at: float | None = None
        self.error: str | None = None


async def _connect(host, port, client_id, subscribe: bool, source=None):
    reader, writer = await asyncio.open_connection(host, port, local_addr=source)
    try:
        writer.write(connect_packet(client_id))
        kind, _flags, body = await asyncio.wait_for(read_packet(reader), 30)
        if kind != CONNACK or len(body) != 2 or body[1] != 0:
            raise MqttError(f"CONNACK {kind} {body!r}")
        if subscribe:
            writer.write(subscribe_packet(1, TOPIC))
            kind, _flags, body = await asyncio.wait_for(read_packet(reader), 30)
            if kind != SUBACK or body[-1] not in (0, 1, 2):
                raise MqttError(f"SUBACK {kind} {body!r}")
    except BaseException:
        writer.close()
        raise
    return reader, writer


async def _subscriber(host, port, index, client, subscribed, sem, prefix):
    for attempt in range(CONNECT_TRIES):
        async with sem:
            try:
                client.reader, client.writer = await _connect(
                    host, port, f"{prefix}-{index}", True, source_address(index, 2)
                )
                break
            except (OSError, TimeoutError, MqttError, asyncio.IncompleteReadError) as exc:
                client.error = type(exc).__name__ if not isinstance(exc, MqttError) else str(exc)
        await asyncio.sleep(0.5 * (attempt + 1))
    else:
        return
    client.error = None
    subscribed.append(time.monotonic())
    reader, writer = client.reader, client.writer
    try:
        while True:
            kind, flags, body = await read_packet(reader)
            if kind == PUBLISH:
                (size,) = struct.unpack_from("!H", body)
                topic = body[2 : 2 + size].decode()
                qos = (flags >> 1) & 3
                if topic == TOPIC:
                    client.received_at = time.time()
                    if qos:
                        (packet_id,) = struct.unpack_from("!H", body, 2 + size)
                        writer.write(puback_packet(packet_id))
                    writer.write(publish_packet(2, ACK_TOPIC, f'{{"client":{index},"state":"acknowledged"}}'.encode()))
            elif kind == PUBACK and body == struct.pack("!H", 2):
                client.ack_at = time.time()
                return
    except (OSError, asyncio.IncompleteReadError) as exc:
        client.error = type(exc).__name__
    finally:
        with contextlib.suppress(OSError):
            writer.write(_packet(DISCONNECT, 0, b""))
        writer.close()


async def _round(host, port, n, payload) -> dict:
    prefix = f"nguon-bench-{os.getpid()}-{time.monotonic_ns()}"
    clients = [_Client() for _ in range(n)]
    subscribed: list[float] = []
    sem = asyncio.Semaphore(CONNECT_PARALLEL)
    started = time.monotonic()
    tasks = [asyncio.create_task(_subscriber(host, port, i, c, subscribed, sem, prefix)) for i, c in enumerate(clients)]
    result: dict = {"subscribers": n}
    try:
        while time.monotonic() < started + 120:
            if len(subscribed) + sum(1 for t in tasks if t.done()) >= n:
                break
            await asyncio.sleep(0.05)
        result["connected"] = len(subscribed)
        result["connect_s"] = round((max(subscribed) if subscribed else time.monotonic()) - started, 3)
        failures: dict[str, int] = {}
        for c in clients:
            if c.error:
                failures[c.error] = failures.get(c.error, 0) + 1
        result["connect_errors"] = failures
        if len(subscribed) < n:
            return result
        await asyncio.sleep(1)
        gc.collect()
        gc.freeze()
        gc.disable()  # no collector pauses in the client while it measures (as in clients.py)
        reader, writer = await _connect(host, port, f"{prefix}-publisher", False)
        try:
            packet = publish_packet(1, TOPIC, payload)
            lags: list[tuple[float, float]] = []
            watcher = asyncio.create_task(_watch_lag(lags))
            published_at = time.time()
            writer.write(packet)
            kind, _flags, _body = await asyncio.wait_for(read_packet(reader), 30)
            result["publisher_puback_s"] = round(time.time() - published_at, 4) if kind == PUBACK else None
            while time.time() < published_at + DEADLINE and not all(t.done() for t in tasks):
                await asyncio.sleep(0.02)
            watcher.cancel()
            result["client_loop_lag"] = loop_lag(lags, published_at)
            writer.write(_packet(DISCONNECT, 0, b""))
        finally:
            writer.close()
    finally:
        gc.enable()
        gc.unfreeze()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    received = [c.received_at - published_at for c in clients if c.received_at]
    received = [t for t in received if t <= DEADLINE]
    acked = [t for t in (c.ack_at - published_at for c in clients if c.ack_at) if t <= DEADLINE]
    result["payload_bytes"] = len(payload)
    result["delivery"] = timings(received, n, "received")
    result["ack"] = timings(acked, n, "acknowledged")
    result["missing"] = n - len(received)
    return result


_CONF = "listener {port} 127.0.0.1\nallow_anonymous true\nmax_connections -1\npersistence false\n"


def _private_broker(directory: Path) -> tuple[Process, int]:
    """A private `mosquitto -c` on a free port (the system one refused some subscribers)."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = directory / "mosquitto.conf"
    conf.write_text(_CONF.format(port=port))
    broker = Process(["/usr/sbin/mosquitto", "-c", str(conf)], log=directory / "mosquitto.log")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if broker.proc.poll() is not None:
            raise RuntimeError(f"mosquitto exited: {broker.tail()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return broker, port
        time.sleep(0.1)
    broker.stop()
    raise RuntimeError("the private mosquitto did not listen within 10 s")


def _pid_of(port: int) -> int | None:
    """The process listening on 127.0.0.1:port, from /proc (for its open-file limit)."""
    inodes = set()
    for table in ("/proc/net/tcp",):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":
                    inodes.add(fields[9])
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(proc.name)
    return None


def fanout(n: int, payload: bytes, work: Path, host: str = "127.0.0.1", port: int = 1883) -> dict:
    """The reference round against the system Mosquitto, or a private one if the system one refuses."""
    from bench.devices.servers import proc_status

    pid = _pid_of(port)
    broker_info = {"broker": f"system mosquitto {host}:{port}", "broker_status": proc_status(pid) if pid else None}
    try:
        result = uvloop.run(_round(host, port, n, payload))
    except OSError as exc:
        result = {"connected": 0, "connect_errors": {type(exc).__name__: 1}}
    if result.get("connected") == n:
        return {**broker_info, **result}
    refused = {"system_broker_refused": result}
    broker, private_port = _private_broker(work / "mosquitto")
    try:
        result = uvloop.run(_round(host, private_port, n, payload))
        return {"broker": f"private mosquitto 127.0.0.1:{private_port}", **refused, **result}
    finally:
        broker.stop()
