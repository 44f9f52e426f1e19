"""Media by hash for devices (protocol §3): which file a hash names, and whether this device may fetch it."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage

from nguon.content.models import MediaAsset


@dataclass(frozen=True, slots=True)
class MediaFile:
    sha256: str
    name: str  # storage name, `media/<sha[:2]>/<sha>.<ext>`
    size: int
    mime_type: str

    @property
    def path(self) -> str | None:
        """The file's path when media live on the local filesystem (the gateway streams it), else None."""
        if isinstance(default_storage, FileSystemStorage):
            return default_storage.path(self.name)
        return None

    @property
    def accel_redirect(self) -> str | None:
        """The internal nginx URI that sends this file from disk (NGUON_MEDIA_ACCEL_REDIRECT + storage name), when
        that setting is on and media live on the local filesystem; else None (the app sends the bytes)."""
        if settings.MEDIA_ACCEL_REDIRECT and isinstance(default_storage, FileSystemStorage):
            return settings.MEDIA_ACCEL_REDIRECT + quote(self.name)
        return None

    def open(self):
        return default_storage.open(self.name, "rb")


def find(sha256: str) -> MediaFile | None:
    """The stored file with this hash (one query; every library entry of a hash shares one file)."""
    row = MediaAsset.objects.filter(sha256=sha256).order_by().values_list("file", "size", "mime_type")[:1]
    return MediaFile(sha256, *row[0]) if row else None


def allowed(sha256: str, *, manifest_hashes, events, device_id: int, now) -> bool:
    """A device may fetch what its current manifest names, and the media of live push events sent to it
    (a `play` item need not be in the manifest)."""
    if sha256 in manifest_hashes:
        return True
    return any(e.is_for(device_id) and not e.expired(now) and sha256 in e.hashes() for e in events)
