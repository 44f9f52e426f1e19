"""Where a device keeps what it must not lose: credentials, the last good manifest, media and the report journal.

`DiskStore` is the state directory of a real device (see README "Files in the state directory");
`MemoryStore` is what each simulated device keeps (nothing on disk; media are hashed and forgotten).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nguon_agent.files import write_atomic
from nguon_agent.journal import DiskJournal, MemoryJournal

log = logging.getLogger("nguon_agent.store")

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(slots=True)
class Credentials:
    token: str
    public_key: str
    device: dict[str, Any]
    server: str = ""
    enrolled_at: str = ""

    @property
    def code(self) -> str:
        return str(self.device.get("code") or "")

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "server": self.server,
                "token": self.token,
                "public_key": self.public_key,
                "device": self.device,
                "enrolled_at": self.enrolled_at,
            },
            ensure_ascii=False,
            indent=1,
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Credentials:
        doc = json.loads(data)
        return cls(
            token=doc["token"],
            public_key=doc["public_key"],
            device=doc.get("device") or {},
            server=doc.get("server", ""),
            enrolled_at=doc.get("enrolled_at", ""),
        )


@dataclass(slots=True)
class SignedManifest:
    """A manifest exactly as received (raw body bytes + signature) and what the device read from it."""

    body: bytes
    signature: str
    etag: str
    document: dict[str, Any]

    @property
    def version(self) -> int:
        try:
            return int(self.document.get("version") or 0)
        except (TypeError, ValueError):
            return 0

    def meta(self) -> dict[str, Any]:
        return {"etag": self.etag, "signature": self.signature, "version": self.version}


class MediaWriter:
    """Receives a media file's bytes, hashes them, and keeps the file only if the hash is the expected one."""

    offset = 0  # bytes already held from an earlier, interrupted download (Range resume)

    def __init__(self, sha256: str):
        self.sha256 = sha256
        self._hash = hashlib.sha256()

    def write(self, chunk: bytes) -> None:
        self._hash.update(chunk)

    def restart(self) -> None:
        """The server ignored the Range request and sends the whole file."""
        self._hash = hashlib.sha256()
        self.offset = 0

    def commit(self) -> bool:
        return self._hash.hexdigest() == self.sha256

    def discard(self) -> None:
        pass


class _DiskMediaWriter(MediaWriter):
    def __init__(self, sha256: str, part: Path, final: Path):
        super().__init__(sha256)
        self._part = part
        self._final = final
        if part.exists():
            with open(part, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 16), b""):
                    self._hash.update(chunk)
                    self.offset += len(chunk)
        self._file = open(part, "ab")  # noqa: SIM115 - closed by commit/discard

    def write(self, chunk: bytes) -> None:
        super().write(chunk)
        self._file.write(chunk)

    def restart(self) -> None:
        super().restart()
        self._file.truncate(0)
        self._file.seek(0)

    def commit(self) -> bool:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        if not super().commit():
            self._part.unlink(missing_ok=True)
            return False
        os.replace(self._part, self._final)
        return True

    def discard(self) -> None:
        """Keep the partial file for a later Range resume."""
        if not self._file.closed:
            self._file.close()


class MemoryStore:
    """State of a simulated device."""

    def __init__(self, credentials: Credentials | None = None):
        self._credentials = credentials
        self._manifest: SignedManifest | None = None
        self._media: set[str] = set()
        self.journal = MemoryJournal()
        self.last_event_id: str | None = None
        # Alerts acknowledged or cancelled: alert id -> until when (server epoch seconds) a replay of it is dropped.
        self.alerts: dict[int, float] = {}

    def load_credentials(self) -> Credentials | None:
        return self._credentials

    def save_credentials(self, credentials: Credentials) -> None:
        self._credentials = credentials

    def load_manifest(self) -> tuple[bytes, dict[str, Any]] | None:
        if self._manifest is None:
            return None
        return self._manifest.body, self._manifest.meta()

    def save_manifest(self, manifest: SignedManifest) -> None:
        # A simulated device keeps only what it needs: the parsed document lives on the agent.
        self._manifest = None

    def has_media(self, sha256: str) -> bool:
        return sha256 in self._media

    def media_path(self, sha256: str) -> Path | None:
        return None

    def media_writer(self, sha256: str) -> MediaWriter:
        store = self

        class _Writer(MediaWriter):
            def commit(self) -> bool:
                ok = MediaWriter.commit(self)
                if ok:
                    store._media.add(sha256)
                return ok

        return _Writer(sha256)

    def keep_media(self, wanted: set[str], busy: set[str] = frozenset()) -> int:
        before = len(self._media)
        self._media &= wanted | busy
        return before - len(self._media)

    def storage_free_mb(self) -> int | None:
        return None

    def save_state(self, **values: Any) -> None:
        if "last_event_id" in values:
            self.last_event_id = values["last_event_id"]
        if "alerts" in values:
            self.alerts = values["alerts"]

    def close(self) -> None:
        self.journal.close()


class DiskStore(MemoryStore):
    """State directory of a device:

    credentials.json   token, pinned server public key, device identity (mode 0600)
    manifest.signed    the last manifest that verified: one JSON line of metadata, then the raw signed body
    media/<sha256>     media files, named by their hash; `<sha256>.part` while downloading
    journal/           report records not yet acknowledged (journal.jsonl) and the seq counters (journal.state)
    state.json         small runtime state (last push event id, alerts already handled)
    """

    def __init__(self, directory: Path | str, fsync: bool = True):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        self.media_dir = self.dir / "media"
        self.media_dir.mkdir(exist_ok=True)
        self.credentials_path = self.dir / "credentials.json"
        self.manifest_path = self.dir / "manifest.signed"
        self.state_path = self.dir / "state.json"
        self.fsync = fsync
        self.journal = DiskJournal(self.dir / "journal", fsync=fsync)
        self.last_event_id = None
        self.alerts = {}
        with contextlib.suppress(OSError, ValueError, AttributeError):
            state = json.loads(self.state_path.read_text())
            self.last_event_id = state.get("last_event_id")
            self.alerts = _read_alerts(state.get("alerts"))

    def load_credentials(self) -> Credentials | None:
        try:
            data = self.credentials_path.read_bytes()
        except FileNotFoundError:
            return None
        mode = self.credentials_path.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning("credentials file was mode %o; tightening to 600", mode)
            os.chmod(self.credentials_path, 0o600)
        return Credentials.from_json(data)

    def save_credentials(self, credentials: Credentials) -> None:
        write_atomic(self.credentials_path, credentials.to_json(), fsync=self.fsync, mode=0o600)

    def load_manifest(self) -> tuple[bytes, dict[str, Any]] | None:
        try:
            data = self.manifest_path.read_bytes()
        except FileNotFoundError:
            return None
        head, sep, body = data.partition(b"\n")
        if not sep:
            return None
        try:
            meta = json.loads(head)
        except ValueError:
            return None
        return body, meta

    def save_manifest(self, manifest: SignedManifest) -> None:
        head = json.dumps(manifest.meta(), separators=(",", ":")).encode()
        write_atomic(self.manifest_path, head + b"\n" + manifest.body, fsync=self.fsync)

    def has_media(self, sha256: str) -> bool:
        return bool(SHA256_RE.match(sha256)) and (self.media_dir / sha256).is_file()

    def media_path(self, sha256: str) -> Path | None:
        path = self.media_dir / sha256
        return path if self.has_media(sha256) else None

    def media_writer(self, sha256: str) -> MediaWriter:
        if not SHA256_RE.match(sha256):
            raise ValueError("not a SHA-256 hex digest")
        return _DiskMediaWriter(sha256, self.media_dir / f"{sha256}.part", self.media_dir / sha256)

    def keep_media(self, wanted: set[str], busy: set[str] = frozenset()) -> int:
        """Delete media (and partial downloads) that the manifest no longer names; return how many."""
        removed = 0
        for path in self.media_dir.iterdir():
            sha = path.name.removesuffix(".part")
            if sha in wanted or sha in busy:
                continue
            try:
                path.unlink()
                removed += 1
            except OSError:
                pass
        return removed

    def storage_free_mb(self) -> int | None:
        try:
            return shutil.disk_usage(self.dir).free // (1 << 20)
        except OSError:
            return None

    def save_state(self, **values: Any) -> None:
        super().save_state(**values)
        state = {"last_event_id": self.last_event_id, "alerts": {str(k): v for k, v in self.alerts.items()}}
        # The event id is only a hint for the server, but a lost alert entry would play an alert twice: fsync that.
        write_atomic(self.state_path, json.dumps(state).encode(), fsync=self.fsync and "alerts" in values)


def _read_alerts(value: Any) -> dict[int, float]:
    alerts: dict[int, float] = {}
    if isinstance(value, dict):
        for key, until in value.items():
            with contextlib.suppress(TypeError, ValueError):
                alerts[int(key)] = float(until)
    return alerts
