"""The HTTP protocol's fast path for the manifest (broadcast/fastpath.py).

First the protocol alone, fed bytes as uvicorn's event loop would feed them, in front of a stand-in gateway: which
requests it answers itself and which it leaves to the ASGI app. Then through the real server (test_gateway's uvicorn
process, which runs this protocol): the fast answer is byte for byte the ASGI path's, and keep-alive, pipelining,
`Connection: close` and HTTP/1.0 behave as HTTP/1.1 says.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from nguon.broadcast import fastpath
from nguon.broadcast.protocol import BASE
from nguon.broadcast.tests.test_gateway import bearer, enrol
from nguon.broadcast.tests.test_gateway import device as device  # noqa: F401 - fixture
from nguon.broadcast.tests.test_gateway import server as server  # noqa: F401 - the uvicorn fixture
from nguon.lib.signing import verify

MANIFEST = BASE + "/manifest"


def test_the_protocol_knows_the_manifest_path():
    assert MANIFEST.encode() == fastpath._MANIFEST


class StandIn:
    """A gateway with one cached answer for the token "good"; every ASGI call is recorded and answered 204."""

    def __init__(self):
        self.calls: list[str] = []

    def answer_at_once(self, headers):
        if (b"authorization", b"Bearer good") not in headers:
            return None
        return 200, [(b"content-length", b"2"), (b"etag", b'"1-ab"')], b"{}"

    async def __call__(self, scope, receive, send):
        self.calls.append(scope["path"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


class Transport(asyncio.Transport):
    def __init__(self):
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def write(self, data):
        self.written += data

    def close(self):
        self.closed = True

    def is_closing(self):
        return self.closed

    def get_extra_info(self, name, default=None):
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def pause_reading(self):
        pass

    def resume_reading(self):
        pass


async def _feed(app, *chunks: bytes) -> tuple[Transport, fastpath.DeviceHttpProtocol]:
    config = Config(app=app, http=fastpath.PROTOCOL, lifespan="off", access_log=False, timeout_keep_alive=5)
    config.load()
    fastpath.DeviceHttpProtocol._gateway = None  # found again in front of this app
    state = ServerState()
    state.default_headers = [(b"date", b"Thu, 03 Dec 2026 10:00:00 GMT"), (b"server", b"uvicorn")]  # as Server sets
    protocol = fastpath.DeviceHttpProtocol(config=config, server_state=state, app_state={})
    transport = Transport()
    protocol.connection_made(transport)
    for chunk in chunks:
        protocol.data_received(chunk)
        for _ in range(5):  # let ASGI tasks started by the chunk run
            await asyncio.sleep(0)
    return transport, protocol


def _get(path: str, token: str = "good", extra: str = "", version: str = "1.1") -> bytes:
    return f"GET {path} HTTP/{version}\r\nHost: x\r\nAuthorization: Bearer {token}\r\n{extra}\r\n".encode()


def _statuses(written: bytes) -> list[int]:
    return [int(status) for status in re.findall(rb"HTTP/1\.1 (\d{3}) ", written)]


def test_a_cached_manifest_is_answered_without_the_asgi_app_and_the_connection_kept():
    async def run():
        app = StandIn()
        transport, protocol = await _feed(app, _get(MANIFEST), _get(MANIFEST))
        assert app.calls == []
        assert _statuses(bytes(transport.written)) == [200, 200]
        head, _, body = bytes(transport.written).partition(b"\r\n\r\n")
        assert b'\r\netag: "1-ab"' in head and b"\r\nserver: uvicorn" in head and b"\r\ndate: " in head
        assert b"connection: close" not in head
        assert body.startswith(b"{}HTTP/1.1 200")
        assert not transport.closed
        assert protocol.timeout_keep_alive_task is not None  # idle now: the keep-alive timer runs
        protocol.connection_lost(None)

    asyncio.run(run())


def test_anything_the_gateway_cannot_answer_at_once_goes_to_the_asgi_app():
    async def run():
        app = StandIn()
        transport, protocol = await _feed(
            app,
            _get(MANIFEST, token="unknown"),  # token not cached
            _get(MANIFEST + "?x=1"),  # a query string: not the plain path
            _get(BASE + "/alerts"),  # another path
            b"HEAD " + MANIFEST.encode() + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer good\r\n\r\n",
        )
        assert app.calls == [MANIFEST, MANIFEST, BASE + "/alerts", MANIFEST]
        assert _statuses(bytes(transport.written)) == [204, 204, 204, 204]
        protocol.connection_lost(None)

    asyncio.run(run())


def test_pipelined_requests_are_answered_in_order():
    async def run():
        app = StandIn()
        # One write: an ASGI request, then a manifest the fast path could answer, then another ASGI one. The
        # manifest must not overtake the first answer: queued behind it, it takes the ASGI path in its turn.
        transport, protocol = await _feed(app, _get(BASE + "/alerts") + _get(MANIFEST) + _get(BASE + "/alerts"))
        for _ in range(20):
            await asyncio.sleep(0)
        assert app.calls == [BASE + "/alerts", MANIFEST, BASE + "/alerts"]
        assert _statuses(bytes(transport.written)) == [204, 204, 204]
        # Once nothing runs, the next manifest on the connection is answered at once again.
        protocol.data_received(_get(MANIFEST))
        assert _statuses(bytes(transport.written)) == [204, 204, 204, 200]
        assert len(app.calls) == 3
        protocol.connection_lost(None)

    asyncio.run(run())


@pytest.mark.parametrize(
    ("extra", "version"), [("Connection: close\r\n", "1.1"), ("", "1.0")], ids=["connection-close", "http-1.0"]
)
def test_a_client_that_does_not_keep_the_connection_gets_it_closed(extra, version):
    async def run():
        app = StandIn()
        transport, protocol = await _feed(app, _get(MANIFEST, extra=extra, version=version))
        assert app.calls == []
        assert b"\r\nconnection: close\r\n" in bytes(transport.written)
        assert transport.closed
        protocol.connection_lost(None)

    asyncio.run(run())


# Through the real server


def _raw(port: int, data: bytes, responses: int) -> list[tuple[bytes, dict[str, str], bytes]]:
    """Send `data` on one connection and read `responses` answers (Content-Length bodies) off it."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(data)
        stream = sock.makefile("rb")
        found = []
        for _ in range(responses):
            status = stream.readline()
            headers = {}
            while (line := stream.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = stream.read(int(headers.get("content-length", "0")))
            found.append((status.strip(), headers, body))
        return found


def test_the_fast_answer_is_the_asgi_answer_and_one_connection_carries_many(server, cast, device):  # noqa: F811
    token, public_key = enrol(server, cast, device)
    assert server.request("GET", MANIFEST, headers=bearer(token))[0] == 200  # the gateway caches token and manifest
    plain = f"GET {MANIFEST} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    # A query string takes the ASGI path (the gateway's `manifest` handler ignores it): the reference answer.
    slow = plain.replace(b"/manifest ", b"/manifest?slow=1 ")
    fast_answer, slow_answer = _raw(server.port, plain + slow, 2)
    for status, headers, body in (fast_answer, slow_answer):
        assert status == b"HTTP/1.1 200 OK"
        assert verify(public_key, body, headers["x-nguon-signature"])
    drop = {"date", "x-server-time"}
    assert {k: v for k, v in fast_answer[1].items() if k not in drop} == {
        k: v for k, v in slow_answer[1].items() if k not in drop
    }
    assert fast_answer[2] == slow_answer[2]
    etag = fast_answer[1]["etag"]

    # Revalidation, kept alive and pipelined, mixed with requests the ASGI app answers.
    revalidate = plain.replace(b"\r\n\r\n", f"\r\nIf-None-Match: {etag}\r\n\r\n".encode())
    alerts = f"GET {BASE}/alerts HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    answers = _raw(server.port, revalidate + alerts + revalidate, 3)
    assert [a[0] for a in answers] == [b"HTTP/1.1 304 Not Modified", b"HTTP/1.1 200 OK", b"HTTP/1.1 304 Not Modified"]
    assert answers[0][1]["etag"] == etag and answers[0][2] == b""
    assert "content-length" not in answers[0][1]  # RFC 9110 §8.6: a 304 has none (it would be the 200's length)
    assert json.loads(answers[1][2]) == {"events": []}  # no alert is current
