"""Report journal: records waiting to be sent, each with a per-device sequence number that only goes up.

The disk journal is an append-only file of JSON lines (`journal.jsonl`) plus a small state file (`journal.state`)
holding the highest acknowledged and the highest assigned `seq`. Records are dropped only when the server has
answered 200 for them (`ack`); the file is rewritten without them once it holds nothing else or grows large.
"""

from __future__ import annotations

import json
import logging
import os
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nguon_agent.files import write_atomic

log = logging.getLogger("nguon_agent.journal")

COMPACT_BYTES = 1 << 20  # rewrite the file without acknowledged records once it is larger than this


class MemoryJournal:
    """The journal of a simulated device: same rules, nothing on disk."""

    def __init__(self) -> None:
        self._records: deque[dict[str, Any]] = deque()
        self.last_seq = 0
        self.acked_seq = 0

    def append(self, record: dict[str, Any]) -> int:
        self.last_seq += 1
        record = {"seq": self.last_seq, **{k: v for k, v in record.items() if k != "seq"}}
        self._write(record)
        self._records.append(record)
        return self.last_seq

    def _write(self, record: dict[str, Any]) -> None:
        pass

    def pending(self, limit: int) -> list[dict[str, Any]]:
        out = []
        for record in self._records:
            if len(out) >= limit:
                break
            out.append(record)
        return out

    def ack(self, upto_seq: int) -> int:
        """Drop every record with seq <= upto_seq; return how many were dropped."""
        dropped = 0
        while self._records and self._records[0]["seq"] <= upto_seq:
            self._records.popleft()
            dropped += 1
        self.acked_seq = max(self.acked_seq, upto_seq)
        self._after_ack()
        return dropped

    def _after_ack(self) -> None:
        pass

    def __len__(self) -> int:
        return len(self._records)

    def records(self) -> Iterable[dict[str, Any]]:
        return iter(self._records)

    def close(self) -> None:
        pass


class DiskJournal(MemoryJournal):
    def __init__(self, directory: Path, fsync: bool = True):
        super().__init__()
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "journal.jsonl"
        self.state_path = self.directory / "journal.state"
        self.fsync = fsync
        self._load()
        self._file = open(self.path, "ab")  # noqa: SIM115 - kept open for appends

    def _load(self) -> None:
        if self.state_path.exists():
            try:
                state = json.loads(self.state_path.read_text())
                self.acked_seq = int(state.get("acked", 0))
                self.last_seq = max(self.acked_seq, int(state.get("seq", 0)))
            except (ValueError, TypeError, AttributeError):
                log.warning("journal state unreadable; recovering from the journal file")
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        good_end = 0
        position = 0
        while position < len(data):
            newline = data.find(b"\n", position)
            if newline < 0:
                break  # torn last line: written while the device lost power; never sent
            line = data[position:newline]
            position = newline + 1
            try:
                record = json.loads(line)
                seq = int(record["seq"])
            except (ValueError, KeyError, TypeError):
                log.warning("journal: skipping an unreadable line")
                good_end = position
                continue
            good_end = position
            self.last_seq = max(self.last_seq, seq)
            if seq > self.acked_seq:
                self._records.append(record)
        if good_end < len(data):
            with open(self.path, "r+b") as handle:
                handle.truncate(good_end)

    def _write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())

    def _after_ack(self) -> None:
        state = json.dumps({"acked": self.acked_seq, "seq": self.last_seq}).encode()
        write_atomic(self.state_path, state, fsync=self.fsync)
        if not self._records:
            self._file.truncate(0)
            self._file.seek(0)
        elif self._file.tell() > COMPACT_BYTES:
            self._rewrite()

    def _rewrite(self) -> None:
        body = b"".join(
            json.dumps(r, ensure_ascii=False, separators=(",", ":")).encode() + b"\n" for r in self._records
        )
        self._file.close()
        write_atomic(self.path, body, fsync=self.fsync)
        self._file = open(self.path, "ab")  # noqa: SIM115

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()
