"""Report batches (protocol §5): parse and check on arrival, then store many batches in one transaction.

A device numbers every record with `seq`, a per-device counter. Heartbeat, PlayRecord and DeviceLog rows are
unique on (device, seq), so a batch sent twice or out of order is stored once: rows whose seq is already stored
are counted as duplicates and skipped (`ignore_conflicts` covers a concurrent re-send). A `fault` record becomes a
DeviceLog row (level "fault", which carries its seq) plus an open DeviceFault row created only with that log row.

`ingest()` serves both the Ninja view (one batch) and the gateway's writer thread (many batches, group commit).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson
from django.db import transaction

from nguon.broadcast.models import (
    Device,
    DeviceFault,
    DeviceLog,
    DeviceStatusChange,
    Heartbeat,
    PlayRecord,
    PlayResult,
    Slot,
)
from nguon.broadcast.protocol import MAX_BATCH_BYTES, iso_ms
from nguon.lib.bulkwrite import insert_objects, update_rows

MAX_RECORDS = 1000  # twice the report_batch_max a manifest asks for
FUTURE_SLACK = timedelta(minutes=5)
MAX_AGE = timedelta(days=30)
REPORTS_PER_MINUTE = 30  # batches per device; a backlog of days drains in a few minutes
MAX_SEQ = 2**63 - 1
_QUERY_CHUNK = 2000  # query parameters per chunk in _stored_seqs (SQLite allows 32,766)
LOG_LEVELS = frozenset({"debug", "info", "warning", "error", "critical"})

_INT_RANGES = {  # heartbeat field → inclusive bounds of its column
    "volume": (0, 100),
    "signal": (-32768, 32767),
    "storage_free_mb": (-(2**31), 2**31 - 1),
    "clock_skew_ms": (-(2**31), 2**31 - 1),
}


class BatchError(Exception):
    """The body is not a batch at all: nothing is stored (400 invalid_batch, or 413 too_large)."""

    def __init__(self, code: str = "invalid_batch"):
        self.code = code
        super().__init__(code)


class Reject(Exception):
    """One record refused, with the reason sent back to the device (record checks of other apps raise it too)."""

    def __init__(self, reason: str):
        self.reason = reason


@dataclass
class Batch:
    """One POST's records after checking: `records` to store, `rejected` to report back."""

    device_id: int
    received_at: datetime
    records: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    stored: int = 0
    duplicates: int = 0
    device_gone: bool = False

    def answer(self) -> dict:
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "server_time": iso_ms(self.received_at),
        }


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def record_time(record: dict, key: str, now: datetime, *, required: bool = True) -> datetime | None:
    value = record.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise Reject("invalid")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Reject("invalid")
    if moment.tzinfo is None:
        raise Reject("invalid")  # the protocol says UTC with a Z; a local time without offset is ambiguous
    if moment > now + FUTURE_SLACK:
        raise Reject("in_future")
    if moment < now - MAX_AGE:
        raise Reject("too_old")
    return moment


def record_text(record: dict, key: str, limit: int, *, required: bool = False) -> str:
    value = record.get(key, "")
    if is_int(value):
        value = str(value)  # `"item": 41` means the same as "41"
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise Reject("invalid")
    if "\x00" in value:  # PostgreSQL refuses NUL in text: one such record would fail the whole group commit
        raise Reject("invalid")
    return value[:limit]


def _heartbeat(record: dict, now: datetime) -> dict:
    values = {"at": record_time(record, "at", now), "current_item": record_text(record, "current_item", 200)}
    for key, (low, high) in _INT_RANGES.items():
        value = record.get(key)
        if value is not None and not (is_int(value) and low <= value <= high):
            raise Reject("invalid")
        values[key] = value
    temperature = record.get("temperature")
    if temperature is not None and not (
        isinstance(temperature, int | float) and not isinstance(temperature, bool) and abs(temperature) < 1000
    ):
        raise Reject("invalid")
    values["temperature"] = temperature
    return values


def _play(record: dict, now: datetime) -> dict:
    started = record_time(record, "started_at", now)
    ended = record_time(record, "ended_at", now, required=False)
    if ended is not None and ended < started:
        raise Reject("invalid")
    result = record.get("result")
    if not isinstance(result, str) or result not in PlayResult.values:
        raise Reject("invalid")
    occurrence = record_text(record, "occurrence", 80, required=True)
    slot_text = occurrence.partition("@")[0]
    slot_id = int(slot_text) if slot_text.isascii() and slot_text.isdigit() and len(slot_text) < 18 else None
    return {
        "started_at": started,
        "ended_at": ended,
        "result": result,
        "occurrence": occurrence,
        "item": record_text(record, "item", 200),
        "slot_id": slot_id,
    }


def _log(record: dict, now: datetime) -> dict:
    level = record.get("level", "info")
    if not isinstance(level, str) or level not in LOG_LEVELS:
        raise Reject("invalid")
    return {"at": record_time(record, "at", now), "level": level, "message": record_text(record, "message", 4000)}


def _fault(record: dict, now: datetime) -> dict:
    return {
        "at": record_time(record, "at", now),
        "code": record_text(record, "code", 60, required=True),
        "message": record_text(record, "message", 4000),
    }


_CHECKS = {"heartbeat": _heartbeat, "play": _play, "log": _log, "fault": _fault}


@dataclass(frozen=True)
class RecordType:
    """A report record type another app adds (alerts): how to check it, the model that stores it (unique on device
    and seq), how to build its row, and what to do with the new rows inside the same transaction."""

    check: Callable[[dict, datetime], dict]
    model: type
    row: Callable[[int, dict, datetime], object]  # (device id, checked record, received at) → unsaved instance
    stored: Callable[[list], None] = lambda rows: None


EXTRA_TYPES: dict[str, RecordType] = {}
# Called inside the storing transaction with the new rows by model and the devices' rows (with `unit_id`): the
# reports app keeps its roll-ups here, so a figure never counts a record that was rolled back or stored twice.
STORED_HOOKS: list[Callable[[dict[type, list], dict[int, dict]], None]] = []


def register(kind: str, record_type: RecordType) -> None:
    EXTRA_TYPES[kind] = record_type


def on_stored(hook: Callable[[dict[type, list], dict[int, dict]], None]) -> None:
    """Call `hook(rows_by_model, devices)` after every group of records is stored, in the same transaction."""
    if hook not in STORED_HOOKS:
        STORED_HOOKS.append(hook)


def _check_for(kind):
    if not isinstance(kind, str):
        return None
    extra = EXTRA_TYPES.get(kind)
    return extra.check if extra is not None else _CHECKS.get(kind)


def parse(body: bytes, *, device_id: int, now: datetime) -> Batch:
    """Check a batch body; refuse it whole (BatchError) or split its records into accepted and rejected."""
    if len(body) > MAX_BATCH_BYTES:
        raise BatchError("too_large")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BatchError()
    records = document.get("records") if isinstance(document, dict) else None
    if not isinstance(records, list) or len(records) > MAX_RECORDS:
        raise BatchError()
    # Every record must carry a usable seq before anything is looked at: it is what makes re-sending safe.
    if not all(isinstance(r, dict) and is_int(r.get("seq")) and 0 < r["seq"] <= MAX_SEQ for r in records):
        raise BatchError()
    batch = Batch(device_id=device_id, received_at=now)
    seen: set[int] = set()
    for record in records:
        seq = record["seq"]
        if seq in seen:
            batch.duplicates += 1
            continue
        seen.add(seq)
        kind = record.get("type")
        check = _check_for(kind)
        try:
            if check is None:
                raise Reject("unknown_type")
            batch.records.append({"seq": seq, "type": record["type"], **check(record, now)})
        except Reject as refusal:
            batch.rejected.append({"seq": seq, "reason": refusal.reason})
    return batch


def _stored_seqs(batches: list[Batch]) -> set[tuple[int, int]]:
    """(device, seq) pairs of these batches already in the database.

    Queried in chunks of devices (`device_id IN (…) AND seq IN (…)`, then filtered to the exact pairs here): one OR
    term per device would pass SQLite's expression depth limit (1,000) when an alert makes thousands of devices
    report one record each in the same group commit.
    """
    wanted: dict[int, set[int]] = {}
    for batch in batches:
        wanted.setdefault(batch.device_id, set()).update(r["seq"] for r in batch.records)
    pairs = {(device_id, seq) for device_id, seqs in wanted.items() for seq in seqs}
    chunks, devices, seqs = [], [], set()
    for device_id, device_seqs in wanted.items():
        if devices and len(devices) + len(seqs | device_seqs) > _QUERY_CHUNK:
            chunks.append((devices, seqs))
            devices, seqs = [], set()
        if device_seqs:
            devices.append(device_id)
            seqs |= device_seqs
    if devices:
        chunks.append((devices, seqs))
    found: set[tuple[int, int]] = set()
    for model in (Heartbeat, PlayRecord, DeviceLog, *(t.model for t in EXTRA_TYPES.values())):
        for devices, seqs in chunks:
            rows = model.objects.filter(device_id__in=devices, seq__in=seqs).values_list("device_id", "seq")
            found.update(pair for pair in rows if pair in pairs)
    return found


def _rows(batch: Batch, record: dict, slots: set[int], out: dict[type, list]) -> None:
    device_id, received_at, kind = batch.device_id, batch.received_at, record["type"]
    extra = EXTRA_TYPES.get(kind)
    if extra is not None:
        out.setdefault(extra.model, []).append(extra.row(device_id, record, received_at))
    elif kind == "heartbeat":
        fields = {k: record[k] for k in ("at", "current_item", "temperature", *_INT_RANGES)}
        out[Heartbeat].append(Heartbeat(device_id=device_id, seq=record["seq"], received_at=received_at, **fields))
    elif kind == "play":
        out[PlayRecord].append(
            PlayRecord(
                device_id=device_id,
                seq=record["seq"],
                slot_id=record["slot_id"] if record["slot_id"] in slots else None,
                occurrence=record["occurrence"],
                item=record["item"],
                started_at=record["started_at"],
                ended_at=record["ended_at"],
                result=record["result"],
                received_at=received_at,
            )
        )
    elif kind == "log":
        out[DeviceLog].append(
            DeviceLog(
                device_id=device_id,
                seq=record["seq"],
                at=record["at"],
                level=record["level"],
                message=record["message"],
                received_at=received_at,
            )
        )
    else:  # fault
        message = f"{record['code']}: {record['message']}" if record["message"] else record["code"]
        out[DeviceLog].append(
            DeviceLog(
                device_id=device_id,
                seq=record["seq"],
                at=record["at"],
                level="fault",
                message=message,
                received_at=received_at,
            )
        )
        out[DeviceFault].append(
            DeviceFault(device_id=device_id, code=record["code"], message=record["message"], at=record["at"])
        )


def _status(heartbeat: dict) -> dict:
    return {
        "at": iso_ms(heartbeat["at"]),
        **{k: heartbeat[k] for k in ("volume", "temperature", "signal", "storage_free_mb", "clock_skew_ms")},
        "current_item": heartbeat["current_item"],
    }


def ingest(batches: list[Batch]) -> None:
    """Store the batches in one transaction; then set each batch's counts (untouched if the transaction fails).

    About ten queries whatever the number of batches, so the gateway's writer can group-commit many requests.
    """
    counts = [[0, batch.duplicates] for batch in batches]  # stored, duplicates (those within a batch so far)
    with transaction.atomic():
        # Lock the devices (in id order, so two writers cannot deadlock): a concurrent batch of the same device
        # waits here, which keeps the duplicate count, report_seq and the online transition exact.
        ids = sorted({b.device_id for b in batches})
        fields = (
            *("pk", "unit_id", "grace_seconds", "is_online", "report_seq", "clock_skew_ms", "current_item"),
            "last_status",
        )
        devices = {
            row["pk"]: row
            for row in Device.objects.select_for_update().filter(pk__in=ids).order_by("pk").values(*fields)
        }
        live = [b for b in batches if b.device_id in devices]
        stored = _stored_seqs(live)
        slot_ids = {r["slot_id"] for b in live for r in b.records if r["type"] == "play" and r["slot_id"]}
        slots = set(Slot.objects.filter(pk__in=slot_ids).values_list("pk", flat=True)) if slot_ids else set()
        rows: dict[type, list] = {Heartbeat: [], PlayRecord: [], DeviceLog: [], DeviceFault: []}
        newest: dict[int, dict] = {}  # device → its newest heartbeat in these batches
        for batch, count in zip(batches, counts, strict=True):
            if batch.device_id not in devices:
                continue
            for record in batch.records:
                key = (batch.device_id, record["seq"])
                if key in stored:
                    count[1] += 1
                    continue
                stored.add(key)  # the same seq in a later batch of this group is a duplicate too
                count[0] += 1
                _rows(batch, record, slots, rows)
                if record["type"] == "heartbeat" and record["seq"] > newest.get(batch.device_id, {"seq": 0})["seq"]:
                    newest[batch.device_id] = record
        for model, objects in rows.items():
            if objects:
                insert_objects(model, objects, ignore_conflicts=model is not DeviceFault)
        for extra in EXTRA_TYPES.values():
            if rows.get(extra.model):
                extra.stored(rows[extra.model])
        for hook in STORED_HOOKS:
            hook(rows, devices)
        _update_devices(live, devices, newest)
    for batch, (stored_count, duplicates) in zip(batches, counts, strict=True):
        batch.stored, batch.duplicates = stored_count, duplicates
        batch.device_gone = batch.device_id not in devices


def _update_devices(batches: list[Batch], devices: dict[int, dict], newest: dict[int, dict]) -> None:
    seen_at: dict[int, datetime] = {}
    top_seq: dict[int, int] = {}
    for batch in batches:
        seen_at[batch.device_id] = max(batch.received_at, seen_at.get(batch.device_id, batch.received_at))
        top_seq[batch.device_id] = max([top_seq.get(batch.device_id, 0), *(r["seq"] for r in batch.records)])
    updates = []
    came_online = []
    for device_id, at in seen_at.items():
        row = devices[device_id]
        skew, item, status = row["clock_skew_ms"], row["current_item"], row["last_status"]
        heartbeat = newest.get(device_id)
        # A late batch (sent out of order) must not overwrite the status a newer heartbeat already set.
        if heartbeat is not None and heartbeat["seq"] > row["report_seq"]:
            skew, item, status = heartbeat["clock_skew_ms"], heartbeat["current_item"], _status(heartbeat)
        silent_after = at + timedelta(seconds=row["grace_seconds"])
        updates.append((device_id, at, silent_after, max(row["report_seq"], top_seq[device_id]), skew, item, status))
        if not row["is_online"]:
            came_online.append(DeviceStatusChange(device_id=device_id, at=at, online=True, reason="report"))
    # One statement for the whole group (bulk_update's CASE per row and field cost ~1.5 ms a device).
    update_rows(
        Device,
        ["last_seen_at", "silent_after", "report_seq", "clock_skew_ms", "current_item", "last_status"],
        updates,
        constants={"is_online": True},
    )
    if came_online:
        DeviceStatusChange.objects.bulk_create(came_online)


class RateLimiter:
    """At most `limit` hits per key in each `window` seconds (a fixed window: small and good enough)."""

    def __init__(self, limit: int, window: float = 60.0, clock=time.monotonic):
        self.limit, self.window, self._clock = limit, window, clock
        self._windows: dict[object, list] = {}  # key → [window start, hits]
        self._lock = threading.Lock()  # the Ninja views run in several threads

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()

    def hit(self, key) -> int:
        """Count a hit; 0 when allowed, else the whole seconds to wait (for Retry-After)."""
        now = self._clock()
        with self._lock:
            entry = self._windows.get(key)
            if entry is None or now - entry[0] >= self.window:
                if len(self._windows) > 100_000:  # forget finished windows now and then
                    self._windows = {k: v for k, v in self._windows.items() if now - v[0] < self.window}
                self._windows[key] = [now, 1]
                return 0
            entry[1] += 1
            if entry[1] <= self.limit:
                return 0
            return max(1, math.ceil(entry[0] + self.window - now))
