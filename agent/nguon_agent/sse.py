"""A small text/event-stream parser that works on whole network chunks (one await per chunk, not per line)."""

from __future__ import annotations

MAX_PENDING = 1 << 20  # an event larger than this is not one the protocol sends


class SSEParser:
    """Feed it chunks; get back (id, data, manifest) for each complete event.

    Lines end with LF or CRLF; `:` lines are comments (keep-alives); `data:` lines of one event are joined with LF;
    a blank line ends the event. `manifest:` is the manifest a `manifest` event may carry inline (protocol §4.4),
    None when absent. `event:` is not needed (the signed payload carries the type) and `retry:` is ignored (the
    agent has its own back-off).
    """

    __slots__ = ("_pending", "_data", "_id", "_manifest")

    def __init__(self) -> None:
        self._pending = b""
        self._data: list[bytes] | None = None
        self._id: str | None = None
        self._manifest: str | None = None

    def feed(self, chunk: bytes) -> list[tuple[str | None, str, str | None]]:
        buffer = self._pending + chunk if self._pending else chunk
        lines = buffer.split(b"\n")
        self._pending = lines.pop()
        if len(self._pending) > MAX_PENDING:
            raise ValueError("event stream line too long")
        events: list[tuple[str | None, str, str | None]] = []
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if self._data is not None:
                    events.append((self._id, b"\n".join(self._data).decode("utf-8", "replace"), self._manifest))
                self._data, self._id, self._manifest = None, None, None
                continue
            if line[0] == 0x3A:  # ":" comment
                continue
            name, _, value = line.partition(b":")
            if value[:1] == b" ":
                value = value[1:]
            if name == b"data":
                if self._data is None:
                    self._data = []
                self._data.append(value)
            elif name == b"id":
                self._id = value.decode("utf-8", "replace")
            elif name == b"manifest":
                self._manifest = value.decode("ascii", "replace")
        return events
