"""The SSE hub: one asyncio.Queue per open stream, fed by the outbox poller. No thread per connection."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from datetime import datetime

from nguon.broadcast.device_auth import DeviceRef
from nguon.broadcast.events import KEEPALIVE, REPLAY_WINDOW, DeviceEvent

CLOSE = None  # put in a stream's queue to end it
MAX_QUEUED = 256  # frames waiting for a stream that does not read: past this the stream is closed


class Stream:
    __slots__ = ("device", "queue")

    def __init__(self, device: DeviceRef):
        self.device = device
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    def put(self, frame: bytes) -> None:
        # A client that stops reading would grow its queue without end; close it instead (it will reconnect
        # and replay from Last-Event-ID).
        if self.queue.qsize() >= MAX_QUEUED:
            self.queue.put_nowait(CLOSE)
        else:
            self.queue.put_nowait(frame)


class Hub:
    def __init__(self):
        self._streams: dict[int, set[Stream]] = {}
        self._recent: deque[DeviceEvent] = deque(maxlen=REPLAY_WINDOW)
        self._sticky: dict[int, DeviceEvent] = {}  # alert events by id, until they expire
        self._acked: set[tuple[int, int]] = set()  # (alert id, device id) acknowledged

    @property
    def connected(self) -> int:
        return sum(len(s) for s in self._streams.values())

    def open(self, device: DeviceRef, last_event_id: int | None, now: datetime) -> tuple[Stream, list[DeviceEvent]]:
        """Register a stream and queue what it missed since `last_event_id` (returned too).

        Registering and replaying happen with no await in between, so an event published meanwhile is neither
        lost nor sent twice.
        """
        stream = Stream(device)
        self._streams.setdefault(device.id, set()).add(stream)
        replayed = self.missed(device.id, last_event_id, now)
        for event in replayed:
            stream.put(event.frame(device.code))
        return stream, replayed

    def missed(self, device_id: int, last_event_id: int | None, now: datetime) -> list[DeviceEvent]:
        """What a (re)connecting device should get: recent events after its Last-Event-ID, and the sticky events
        (alerts) after it, or all of them without one, except alerts it acknowledged."""
        floor = last_event_id if last_event_id is not None else 0
        found = {
            e.id: e
            for e in self._sticky.values()
            if e.id > floor and e.is_for(device_id) and not e.expired(now) and not self.acknowledged(e, device_id)
        }
        if last_event_id is not None:
            for event in self._recent:
                fresh = event.id > last_event_id and event.id not in found and not event.sticky
                if fresh and event.is_for(device_id) and not event.expired(now):
                    found[event.id] = event
        return [found[i] for i in sorted(found)]

    def acknowledged(self, event: DeviceEvent, device_id: int) -> bool:
        key = event.ack_key
        return key is not None and (key, device_id) in self._acked

    def note_acks(self, pairs) -> None:
        """(alert id, device id) pairs acknowledged (report records, or the database at start-up)."""
        self._acked.update(pairs)

    def forget_acks(self, device_ids) -> None:
        """These devices were (re-)enrolled: what they acknowledged before is gone with their old storage."""
        ids = set(device_ids)
        self._acked = {pair for pair in self._acked if pair[1] not in ids}

    def forget_expired(self, now: datetime) -> None:
        expired = [i for i, e in self._sticky.items() if e.expired(now)]
        for event_id in expired:
            key = self._sticky.pop(event_id).ack_key
            if key is not None and not any(e.ack_key == key for e in self._sticky.values()):
                self._acked = {pair for pair in self._acked if pair[0] != key}

    def close(self, stream: Stream) -> None:
        streams = self._streams.get(stream.device.id)
        if streams is not None:
            streams.discard(stream)
            if not streams:
                del self._streams[stream.device.id]

    @property
    def recent(self) -> deque[DeviceEvent]:
        return self._recent

    def remember(self, event: DeviceEvent) -> None:
        self._recent.append(event)
        if event.sticky:
            self._sticky[event.id] = event

    def publish(self, event: DeviceEvent, extra: Callable[[int], bytes] | None = None) -> list[int]:
        """Queue the event's frame on every stream it is for; return the ids of the devices it was queued for.
        `extra(device_id)` gives field lines to add to that device's frame (b"" for none): the inline manifest."""
        self.remember(event)
        if event.device_ids is None:
            targets = [s for streams in self._streams.values() for s in streams]
        else:
            targets = [s for i in event.device_ids for s in self._streams.get(i, ())]
        for stream in targets:
            frame = event.frame(stream.device.code)
            lines = extra(stream.device.id) if extra is not None else b""
            stream.put(frame[:-1] + lines + b"\n" if lines else frame)  # before the blank line that ends it
        return [s.device.id for s in targets]

    def disconnect(self, device_ids) -> None:
        """End the streams of these devices (None: all), e.g. when their tokens are revoked."""
        ids = list(self._streams) if device_ids is None else device_ids
        for device_id in ids:
            for stream in self._streams.get(device_id, ()):
                stream.queue.put_nowait(CLOSE)

    def keepalive(self) -> None:
        for streams in self._streams.values():
            for stream in streams:
                stream.put(KEEPALIVE)
