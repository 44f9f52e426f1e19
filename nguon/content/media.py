"""Media library ingest: check a file by its content, measure it, store it under its SHA-256."""

from __future__ import annotations

import hashlib
import json
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import formats
from django.utils.translation import gettext as _

from nguon.accounts.access import require
from nguon.accounts.roles import Capability
from nguon.audit.actions import record_event
from nguon.content.models import MediaAsset, MediaKind
from nguon.core.errors import Invalid

CHUNK = 1024 * 1024


@dataclass
class Sniffed:
    kind: str
    mime_type: str
    extension: str
    duration: float | None = None
    width: int | None = None
    height: int | None = None


def storage_name(sha256: str, extension: str) -> str:
    return f"media/{sha256[:2]}/{sha256}.{extension}"


def _too_many_pixels(width: int | None = None, height: int | None = None) -> Invalid:
    limit = settings.IMAGE_MAX_MEGAPIXELS
    if width and height:
        message = _(
            "The image is too large: %(width)s × %(height)s pixels (%(mp)s megapixels). At most %(limit)s megapixels "
            "are accepted: scale it down and upload it again."
        ) % {
            "width": formats.number_format(width, force_grouping=True),
            "height": formats.number_format(height, force_grouping=True),
            "mp": formats.number_format(round(width * height / 1e6), force_grouping=True),
            "limit": limit,
        }
    else:
        message = _(
            "The image is too large: at most %(limit)s megapixels are accepted. Scale it down and upload it again."
        ) % {"limit": limit}
    return Invalid(message, code="image_too_large", fields={"file": [message]})


IMAGE_TYPES = {"jpeg": "jpg", "png": "png", "gif": "gif", "webp": "webp"}  # Pillow format → extension


def _sniff_image(path: Path) -> Sniffed | None:
    """Identify an image from its header, refuse it by its pixel count before a single pixel is decoded (a small
    compressed file can decode to gigabytes), then decode it once to find truncation."""
    from PIL import Image, UnidentifiedImageError

    limit = settings.IMAGE_MAX_MEGAPIXELS * 1_000_000
    try:
        with warnings.catch_warnings():
            # Pillow warns past ~89 megapixels and raises past twice that, on opening; ours is lower and checked
            # below, with the image's size in the message.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:  # reads the header only
                fmt = (image.format or "").lower()
                width, height = image.size
                if fmt == "mpeg":
                    return None  # a video stream Pillow recognises: ffprobe judges it
                if fmt not in IMAGE_TYPES:
                    # Refused before decoding: a format we do not take is no reason to spend memory on it.
                    message = _("Images must be JPEG, PNG, GIF or WebP.")
                    raise Invalid(message, code="unsupported_image", fields={"file": [message]})
                if width * height > limit:
                    raise _too_many_pixels(width, height)
                image.verify()  # checks the structure without decoding every pixel
        with Image.open(path) as image:
            image.load()  # a truncated image fails here
    except Image.DecompressionBombError:
        raise _too_many_pixels() from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None
    extension = IMAGE_TYPES[fmt]
    mime = "image/jpeg" if extension == "jpg" else f"image/{extension}"
    return Sniffed(MediaKind.IMAGE, mime, extension, width=width, height=height)


def _sniff_document(path: Path) -> Sniffed | None:
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(b"%PDF-"):
        return Sniffed(MediaKind.DOCUMENT, "application/pdf", "pdf")
    if head.startswith(b"PK\x03\x04") and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
        if "[Content_Types].xml" in names:
            if any(n.startswith("word/") for n in names):
                return Sniffed(
                    MediaKind.DOCUMENT,
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    "docx",
                )
            if any(n.startswith("xl/") for n in names):
                return Sniffed(
                    MediaKind.DOCUMENT, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"
                )
            if any(n.startswith("ppt/") for n in names):
                return Sniffed(
                    MediaKind.DOCUMENT,
                    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                    "pptx",
                )
        if "mimetype" in names:
            return Sniffed(MediaKind.DOCUMENT, "application/vnd.oasis.opendocument.text", "odt")
    return None


AUDIO_TYPES = {  # ffprobe format name → (MIME type, extension)
    "mp3": ("audio/mpeg", "mp3"),
    "ogg": ("audio/ogg", "ogg"),
    "wav": ("audio/wav", "wav"),
    "flac": ("audio/flac", "flac"),
    "mov,mp4,m4a,3gp,3g2,mj2": ("audio/mp4", "m4a"),
    "aac": ("audio/aac", "aac"),
}
VIDEO_TYPES = {"mov,mp4,m4a,3gp,3g2,mj2": ("video/mp4", "mp4"), "matroska,webm": ("video/webm", "webm")}


def _video_stream(path: Path) -> dict | None:
    """The first real video stream (not cover art), or None."""
    from nguon.speech.audio import AudioError, AudioTimeout, AudioToolMissing, InvalidAudio
    from nguon.speech.engines import run_tool

    args = ["ffprobe", "-v", "error", "-of", "json", "-show_entries",
            "format=format_name,duration:stream=codec_type,width,height:stream_disposition=attached_pic",
            f"file:{path}"]  # fmt: skip
    try:
        result = run_tool(args, timeout=60, name="ffprobe", unavailable=AudioToolMissing, crashed=InvalidAudio,
                          timed_out=AudioTimeout)  # fmt: skip
    except AudioError:
        return None
    info = json.loads(result.stdout or b"{}")
    for stream in info.get("streams", []):
        if stream.get("codec_type") == "video" and not (stream.get("disposition") or {}).get("attached_pic"):
            return {**stream, "format_name": info.get("format", {}).get("format_name", ""),
                    "duration": float(info.get("format", {}).get("duration") or 0)}  # fmt: skip
    return None


def _sniff_audio_video(path: Path) -> Sniffed | None:
    from nguon.speech.audio import AudioError, probe

    video = _video_stream(path)
    if video is not None:
        mime, extension = VIDEO_TYPES.get(video["format_name"], (None, None))
        if mime is None:
            raise Invalid(_("Videos must be MP4 or WebM."), code="unsupported_video")
        return Sniffed(MediaKind.VIDEO, mime, extension, duration=video["duration"] or None,
                       width=video.get("width"), height=video.get("height"))  # fmt: skip
    try:
        info = probe(path)
    except AudioError as exc:
        if "truncated" in exc.msgid:
            raise Invalid(exc.message, code="damaged_audio", fields={"file": [exc.message]}) from None
        return None
    mime, extension = AUDIO_TYPES.get(info.format, (None, None))
    if mime is None:
        raise Invalid(_("Audio must be MP3, Ogg/Opus, WAV, FLAC or M4A."), code="unsupported_audio")
    return Sniffed(MediaKind.AUDIO, mime, extension, duration=info.duration)


def sniff(path: Path) -> Sniffed:
    """Decide what a file is from its bytes; the name the uploader gave it counts for nothing."""
    for check in (_sniff_document, _sniff_image, _sniff_audio_video):
        found = check(path)
        if found is not None:
            return found
    raise Invalid(
        _("The file is not a supported audio, image, video or document file, or it is damaged."),
        code="unsupported_file",
        fields={"file": [_("Unrecognised or damaged file.")]},
    )


def ingest(
    uploaded,
    *,
    unit,
    acting_user,
    title: str = "",
    author: str = "",
    rights: str = "",
    category=None,
    max_bytes: int | None = None,
) -> MediaAsset:
    """Store an uploaded file (Django UploadedFile or any file object with a name) after checking its content."""
    if acting_user is not None:
        require(acting_user, Capability.EDIT_CONTENT, unit)
    with tempfile.TemporaryDirectory(prefix="nguon-ingest-") as tmp:
        path = Path(tmp) / "upload"
        digest = hashlib.sha256()
        size = 0
        with open(path, "wb") as out:
            chunks = uploaded.chunks(CHUNK) if hasattr(uploaded, "chunks") else iter(lambda: uploaded.read(CHUNK), b"")
            for chunk in chunks:
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise Invalid(_("The file is too large."), code="too_large")
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise Invalid(_("The file is empty."), code="empty_file", fields={"file": [_("The file is empty.")]})
        sha = digest.hexdigest()
        if MediaAsset.objects.filter(sha256=sha, is_generated=True).exists():
            # The audio of a bulletin (a draft's too) or of an alert, downloaded and sent back as a library file,
            # would play without the bulletin's approval.
            message = _("This is audio the system rendered from a bulletin or an alert: it plays only through the "
                        "approved bulletin or the alert, not as a library file.")  # fmt: skip
            raise Invalid(message, code="generated_media", fields={"file": [message]})
        existing = MediaAsset.objects.filter(sha256=sha, unit=unit).first()
        if existing is not None:
            return existing
        found = sniff(path)
        loudness = (None, None)
        if found.kind == MediaKind.AUDIO:
            from nguon.speech.audio import measure_loudness

            measured = measure_loudness(path)
            loudness = (measured.integrated_lufs, measured.true_peak_dbtp)
        return _store(
            path,
            sha=sha,
            size=size,
            found=found,
            loudness=loudness,
            unit=unit,
            acting_user=acting_user,
            meta={
                "title": title,
                "author": author,
                "rights": rights,
                "category": category,
                "original_name": Path(getattr(uploaded, "name", "") or "").name[:255],
            },
        )


def _store(path, *, sha, size, found, loudness, unit, acting_user, meta, generated=False) -> MediaAsset:
    name = storage_name(sha, found.extension)
    wrote = False
    if not default_storage.exists(name):
        with open(path, "rb") as handle:
            saved = default_storage.save(name, File(handle))
        wrote = True
        if saved != name:  # a concurrent writer stored the same content first
            default_storage.delete(saved)
    try:
        with transaction.atomic():
            asset, created = MediaAsset.objects.get_or_create(
                sha256=sha,
                unit=unit,
                defaults={
                    "kind": found.kind,
                    "mime_type": found.mime_type,
                    "extension": found.extension,
                    "size": size,
                    "file": name,
                    "uploaded_by": acting_user,
                    "duration": found.duration,
                    "loudness_lufs": loudness[0],
                    "true_peak_dbtp": loudness[1],
                    "width": found.width,
                    "height": found.height,
                    "is_generated": generated,
                    **meta,
                },
            )
            if created:
                record_event(
                    "content.media_added",
                    actor=acting_user,
                    obj=asset,
                    unit=unit,
                    changes={"sha256": sha, "kind": found.kind, "size": size, "name": meta.get("original_name", "")},
                )
    except Exception:
        if wrote:
            default_storage.delete(name)  # nothing half-written stays behind
        raise
    return asset


def store_generated_audio(path: Path, *, sha: str, extension: str, mime_type: str, duration, loudness, unit, title):
    """Store audio the system rendered (speech) in the library, deduplicated by hash."""
    existing = MediaAsset.objects.filter(sha256=sha, unit=unit).first()
    if existing is not None:
        return existing
    size = Path(path).stat().st_size
    found = Sniffed(MediaKind.AUDIO, mime_type, extension, duration=duration)
    return _store(
        path,
        sha=sha,
        size=size,
        found=found,
        loudness=loudness,
        unit=unit,
        acting_user=None,
        meta={"title": title[:300]},
        generated=True,
    )
