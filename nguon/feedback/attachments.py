"""Files citizens send with feedback: checked by their content, stripped of hidden data, kept in a temporary folder
until `actions.store_attachment` copies them.

Photos are decoded (after their pixel count is checked from the header) and written again as JPEG, PNG or WebP:
the new file carries no EXIF block, so no camera position, serial number or time goes with it; the orientation is
applied to the pixels first. Audio and video clips are probed with ffprobe, limited in length, and copied stream by
stream with ffmpeg without any metadata (a phone's video keeps its GPS position in a metadata atom). The name the
sender gave a file counts for nothing.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from nguon.core.errors import Invalid

CHUNK = 1024 * 1024
# A clip longer than this is rarely evidence and costs staff the time to watch it.
MAX_CLIP_SECONDS = 180
# Photos larger than this on their long side are scaled down: enough to see a pothole, a fraction of the bytes.
MAX_IMAGE_SIDE = 2560
FIELD = "files"

# ffprobe's format (from content/media.py's tables) → the ffmpeg muxer that writes it back.
MUXERS = {"mp4": "mp4", "webm": "webm", "m4a": "ipod", "mp3": "mp3", "ogg": "ogg", "wav": "wav", "flac": "flac",
          "aac": "adts"}  # fmt: skip


@dataclass
class PreparedFile:
    """A checked, cleaned file waiting in a temporary folder; `actions.store_attachment` reads exactly these."""

    kind: str  # "image", "audio" or "video"
    path: Path
    mime_type: str
    size: int
    sha256: str
    width: int | None
    height: int | None
    duration: float | None
    original_name: str
    extension: str

    def cleanup(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)


def max_file_bytes() -> int:
    return settings.FEEDBACK_MAX_FILE_MB * 1024 * 1024


def max_request_bytes() -> int:
    """The largest whole form we read: every file at its limit, and a megabyte for the text fields."""
    return max(1, settings.FEEDBACK_MAX_FILES) * max_file_bytes() + 1024 * 1024


def _refuse(name: str, message) -> Invalid:
    text = _("“%(name)s”: %(problem)s") % {"name": name or _("file"), "problem": message}
    return Invalid(text, code="bad_file", fields={FIELD: [text]})


def _digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _reencode_image(source: Path, folder: Path, extension: str) -> tuple[Path, str, str, int, int]:
    """Decode and write the photo again, upright and without EXIF, XMP or comments."""
    from PIL import Image, ImageOps

    with Image.open(source) as image:
        image.seek(0)  # a GIF or animated WebP: its first frame
        upright = ImageOps.exif_transpose(image)
        upright.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE))
        if extension == "jpg":
            target, fmt, mime = folder / "clean.jpg", "JPEG", "image/jpeg"
            upright = upright.convert("RGB")
            options = {"quality": 85, "optimize": True}
        elif extension == "webp":
            target, fmt, mime = folder / "clean.webp", "WEBP", "image/webp"
            upright = upright.convert("RGBA" if "A" in upright.getbands() else "RGB")
            options = {"quality": 85}
        else:  # PNG and GIF become PNG
            target, fmt, mime = folder / "clean.png", "PNG", "image/png"
            if upright.mode not in ("1", "L", "LA", "RGB", "RGBA"):
                upright = upright.convert("RGBA")
            options = {"optimize": True}
        # No `exif=`, `xmp=` or `pnginfo=`, and no info carried over: Pillow would copy a JPEG comment or a PNG's
        # colour profile from it. The new file holds pixels only.
        upright.info = {}
        upright.save(target, fmt, **options)
        width, height = upright.size
    return target, mime, target.suffix.lstrip("."), width, height


def _strip_clip(source: Path, folder: Path, kind: str, extension: str) -> Path:
    """Copy the streams without re-encoding and without metadata, chapters or cover pictures."""
    from nguon.speech.audio import AudioError, AudioTimeout, AudioToolMissing, InvalidAudio
    from nguon.speech.engines import run_tool

    target = folder / f"clean.{extension}"
    streams = ["-map", "0:V:0", "-map", "0:a?"] if kind == "video" else ["-map", "0:a"]
    args = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", f"file:{source}", *streams,
            "-map_metadata", "-1", "-map_metadata:s", "-1", "-map_chapters", "-1", "-c", "copy",
            "-fflags", "+bitexact", "-f", MUXERS[extension], f"file:{target}"]  # fmt: skip
    if extension == "mp3":
        args[-3:-3] = ["-write_id3v1", "0", "-id3v2_version", "0"]
    try:
        run_tool(args, timeout=120, name="ffmpeg", unavailable=AudioToolMissing, crashed=InvalidAudio,
                 timed_out=AudioTimeout)  # fmt: skip
    except AudioError:
        raise Invalid(_("The clip is damaged or cannot be read.")) from None
    return target


def _identify(path: Path):
    """What the bytes are (content/media.py's checks): a Sniffed, or None when neither image, audio nor video."""
    from nguon.content.media import _sniff_audio_video, _sniff_image

    found = _sniff_image(path)
    if found is None:
        found = _sniff_audio_video(path)
    return found


def prepare(uploaded) -> PreparedFile:
    """Check and clean one uploaded file; raise Invalid (field "files") with a message the sender understands."""
    name = Path(getattr(uploaded, "name", "") or "").name[:200]
    limit = max_file_bytes()
    too_large = _("the file is larger than %(n)s MB.") % {"n": settings.FEEDBACK_MAX_FILE_MB}
    # Refused by its size before a byte is decoded.
    if getattr(uploaded, "size", 0) and uploaded.size > limit:
        raise _refuse(name, too_large)
    folder = Path(tempfile.mkdtemp(prefix="nguon-feedback-"))
    try:
        source = folder / "upload"
        size = 0
        with open(source, "wb") as out:
            for chunk in (
                uploaded.chunks(CHUNK) if hasattr(uploaded, "chunks") else iter(lambda: uploaded.read(CHUNK), b"")
            ):
                size += len(chunk)
                if size > limit:
                    raise _refuse(name, too_large)
                out.write(chunk)
        if size == 0:
            raise _refuse(name, _("the file is empty."))
        try:
            found = _identify(source)
        except Invalid as exc:
            raise _refuse(name, exc.message) from None
        if found is None:
            raise _refuse(name, _("this is not a photo, an audio clip or a video clip, or the file is damaged."))
        kind = str(found.kind)
        if kind == "image":
            clean, mime, extension, width, height = _reencode_image(source, folder, found.extension)
            duration = None
        elif kind in ("audio", "video"):
            if found.duration is None or found.duration > MAX_CLIP_SECONDS:
                raise _refuse(name, _("clips may be at most %(n)s minutes long.") % {"n": MAX_CLIP_SECONDS // 60})
            try:
                clean = _strip_clip(source, folder, kind, found.extension)
            except Invalid as exc:
                raise _refuse(name, exc.message) from None
            mime, extension = found.mime_type, found.extension
            width, height, duration = found.width, found.height, found.duration
        else:  # a document: not taken here
            raise _refuse(name, _("this is not a photo, an audio clip or a video clip, or the file is damaged."))
        source.unlink(missing_ok=True)
        sha256, clean_size = _digest(clean)
        return PreparedFile(
            kind=kind,
            path=clean,
            mime_type=mime,
            size=clean_size,
            sha256=sha256,
            width=width,
            height=height,
            duration=duration,
            original_name=name,
            extension=extension,
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


@contextmanager
def prepared(uploads) -> Iterator[list[PreparedFile]]:
    """Prepare every file (all problems reported at once); the temporary copies go when the block ends."""
    files: list[PreparedFile] = []
    problems: list[str] = []
    try:
        for upload in uploads:
            try:
                files.append(prepare(upload))
            except Invalid as exc:
                problems.extend(str(m) for m in exc.fields.get(FIELD, [exc.message]))
        if problems:
            raise Invalid(problems[0], code="bad_file", fields={FIELD: problems})
        yield files
    finally:
        for item in files:
            item.cleanup()
