"""The content-addressed store: files named by the SHA-256 of their bytes, written atomically."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nguon.speech.audio.errors import InvalidAudio
from nguon.speech.engines import gettext_noop


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise InvalidAudio(
            gettext_noop("The audio file %(path)s cannot be read: %(detail)s"), path=str(path), detail=exc
        )
    return digest.hexdigest()


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    path: Path
    size: int
    format: str  # file extension: "mp3", "opus"


def copy_atomically(source: Path, target: Path) -> None:
    """Copy `source` to `target` through a temporary file beside it, flushed to disk, then renamed into place.

    The temporary name starts with a dot and ends in ".part", so readers (the device media route, a directory
    listing) never see a half-written file under the final name, and a crash leaves only an obvious leftover.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class ContentStore:
    """Files named by the SHA-256 of their bytes: ``<root>/<sha[:2]>/<sha>.<ext>``. Existing files are reused."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path_for(self, sha256: str, ext: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.{ext}"

    def put(self, source: Path, ext: str) -> StoredFile:
        """Copy `source` into the store (atomically: temporary file, fsync, rename) and describe it."""
        sha = _file_sha256(source)
        size = source.stat().st_size
        target = self.path_for(sha, ext)
        if target.exists() and target.stat().st_size == size:
            return StoredFile(sha, target, size, ext)
        target.parent.mkdir(parents=True, exist_ok=True)
        copy_atomically(source, target)
        return StoredFile(sha, target, size, ext)
