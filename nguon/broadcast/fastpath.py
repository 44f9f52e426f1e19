"""uvicorn's httptools protocol with a fast path for the hottest device request.

Every device asks for its manifest (a 304 nearly always; after a change, the new body), all at once after a push or
a restart. When the gateway holds the token and the manifest in memory, the answer needs no I/O, so it is written
from the parser's callback (`Gateway.answer_at_once`): no ASGI task, no request cycle, no coroutine per request.
Everything else (other paths, a pipelined request behind one still running, an upgrade, a token or a manifest not
cached) goes through uvicorn and the gateway's ASGI app unchanged. Served with `--http
nguon.broadcast.fastpath:DeviceHttpProtocol` (`nguon serve` sets it).
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.protocols.utils import get_client_addr

# Imported by uvicorn before it loads the app, so before Django is set up: nothing of Django here (and so not in
# the gateway package, whose __init__ imports models).
_MANIFEST = b"/device/v1/manifest"  # protocol.BASE + "/manifest" (a test holds them equal)


# uvicorn's `http` setting for this protocol (`--http` on its command line).
PROTOCOL = "nguon.broadcast.fastpath:DeviceHttpProtocol"


class _Answered:
    """Stands in for uvicorn's request cycle once the fast path has answered: complete, with nothing to wake."""

    response_complete = True
    disconnected = False
    keep_alive = True

    class message_event:  # noqa: N801 - the attribute uvicorn's protocol calls .set() on
        @staticmethod
        def set() -> None:
            pass


_ANSWERED = _Answered()


def find_gateway(app):
    """The Gateway under uvicorn's middleware (proxy headers, message logger), if the app is one; else None."""
    for _ in range(8):
        if app is None or hasattr(app, "answer_at_once"):
            return app
        app = getattr(app, "app", None)
    return None


class DeviceHttpProtocol(HttpToolsProtocol):
    _gateway = None  # found at the first manifest request (the app is the same for every connection)

    def on_headers_complete(self) -> None:
        if (
            self.url == _MANIFEST
            and not self.pipeline
            and (self.cycle is None or self.cycle.response_complete)
            and self.parser.get_method() == b"GET"
            and not self.parser.should_upgrade()
        ):
            gateway = DeviceHttpProtocol._gateway
            if gateway is None:
                gateway = DeviceHttpProtocol._gateway = find_gateway(self.app) or False
            answer = gateway.answer_at_once(self.headers) if gateway else None
            if answer is not None:
                self._write(*answer)
                return
        super().on_headers_complete()

    def _write(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        """What uvicorn's RequestResponseCycle.send writes for this answer, then its end-of-response steps."""
        version = self.parser.get_http_version()
        keep_alive = version != "1.0" and self.parser.should_keep_alive()
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content += [name, b": ", value, b"\r\n"]
        for name, value in headers:
            content += [name, b": ", value, b"\r\n"]
        if not keep_alive:
            content.append(b"connection: close\r\n")
        content += [b"\r\n", body]
        if self.access_log:
            self.scope["method"] = "GET"
            self.scope["path"] = _MANIFEST.decode()
            self.scope["query_string"] = b""
            self.access_logger.info(
                '%s - "%s %s HTTP/%s" %d', get_client_addr(self.scope), "GET", self.scope["path"], version, status
            )
        self.cycle = _ANSWERED  # a body sent with the GET, and the message's end, are ignored as after any answer
        self.transport.write(b"".join(content))
        if not keep_alive:
            self.transport.close()
        self.on_response_complete()
