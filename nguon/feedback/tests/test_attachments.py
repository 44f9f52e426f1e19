import io
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from nguon.core.errors import Invalid
from nguon.feedback import attachments
from nguon.feedback.attachments import prepare, prepared
from nguon.feedback.models import Attachment, Feedback
from nguon.feedback.tests.public import FORM, form_data, gps_exif, jpeg

needs_ffmpeg = pytest.mark.skipif(not shutil.which("ffmpeg"), reason="ffmpeg is not installed")


def _temp_folders() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("nguon-feedback-*")}


def test_a_photo_loses_its_gps_exif_and_is_turned_upright():
    upload = jpeg(size=(80, 40), exif=gps_exif())
    with Image.open(io.BytesIO(upload.read())) as original:
        assert original.getexif().get_ifd(0x8825) and original.info["comment"]  # the test photo does carry them
    upload.seek(0)
    found = prepare(upload)
    try:
        with Image.open(found.path) as clean:
            exif = clean.getexif()
            assert not exif.get_ifd(0x8825) and 0x0110 not in exif and 0x0112 not in exif
            assert b"Exif" not in found.path.read_bytes() and b"10.9472" not in found.path.read_bytes()
            assert "comment" not in clean.info
            # Orientation 6 (rotated 90°) is applied to the pixels: 80 × 40 becomes 40 × 80.
            assert clean.size == (40, 80) == (found.width, found.height)
        assert (found.kind, found.mime_type, found.extension) == ("image", "image/jpeg", "jpg")
        assert found.size == found.path.stat().st_size and len(found.sha256) == 64
        assert found.original_name == "photo.jpg"
    finally:
        found.cleanup()
    assert not found.path.exists()


def test_png_and_gif_become_png_by_content_not_name():
    buffer = io.BytesIO()
    Image.new("P", (10, 10)).save(buffer, "GIF")
    found = prepare(SimpleUploadedFile("photo.jpg", buffer.getvalue()))
    try:
        assert (found.mime_type, found.extension) == ("image/png", "png")
    finally:
        found.cleanup()


def test_text_pretending_to_be_a_photo_is_refused_and_nothing_is_left_behind():
    before = _temp_folders()
    with pytest.raises(Invalid) as caught:
        prepare(SimpleUploadedFile("anh.jpg", b"<html>not an image</html>", content_type="image/jpeg"))
    assert "anh.jpg" in str(caught.value.fields["files"][0])
    assert _temp_folders() == before


def test_every_bad_file_is_reported_and_the_good_ones_are_cleaned_up():
    before = _temp_folders()
    with (
        pytest.raises(Invalid) as caught,
        prepared([jpeg(), SimpleUploadedFile("a.png", b""), SimpleUploadedFile("b.mp3", b"x" * 50)]),
    ):
        pass
    assert len(caught.value.fields["files"]) == 2
    assert _temp_folders() == before
    with prepared([jpeg()]) as files:
        path = files[0].path
        assert path.exists()
    assert not path.exists()


def test_size_is_checked_before_decoding(settings):
    settings.FEEDBACK_MAX_FILE_MB = 1
    with pytest.raises(Invalid) as caught:
        prepare(SimpleUploadedFile("big.jpg", b"0" * (1024 * 1024 + 1)))
    assert "1 MB" in str(caught.value.fields["files"][0])


def _ffprobe_tags(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format_tags:stream_tags", "-of", "json", str(path)],
        capture_output=True,
        check=True,
    ).stdout
    info = json.loads(out)
    tags = dict(info.get("format", {}).get("tags", {}))
    for stream in info.get("streams", []):
        tags.update(stream.get("tags", {}))
    return tags


def _clip(tmp_path, name: str, *args: str, seconds: int = 1) -> SimpleUploadedFile:
    path = tmp_path / name
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=duration={seconds}:size=64x48:rate=5",
         "-f", "lavfi", "-i", f"sine=duration={seconds}", "-shortest", *args,
         "-metadata", "location=+10.9472+106.8196/", "-metadata", "title=Nhà số 12", str(path)],
        check=True,
    )  # fmt: skip
    assert "location" in _ffprobe_tags(path)
    return SimpleUploadedFile("clip.mov", path.read_bytes())


@needs_ffmpeg
def test_a_video_loses_its_gps_position_and_other_metadata(tmp_path):
    found = prepare(_clip(tmp_path, "in.mp4", "-c:v", "mpeg4", "-c:a", "aac"))
    try:
        assert (found.kind, found.mime_type, found.extension) == ("video", "video/mp4", "mp4")
        tags = _ffprobe_tags(found.path)
        assert not any("location" in key for key in tags) and "title" not in tags, tags
        assert 0.5 < found.duration < 2 and (found.width, found.height) == (64, 48)
    finally:
        found.cleanup()


@needs_ffmpeg
def test_an_audio_clip_is_taken_and_a_long_one_refused(tmp_path, monkeypatch):
    path = tmp_path / "voice.ogg"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=duration=2", "-c:a", "libvorbis",
         "-metadata", "artist=Nguyễn Văn An", str(path)],
        check=True,
    )  # fmt: skip
    found = prepare(SimpleUploadedFile("voice.jpg", path.read_bytes()))
    try:
        assert (found.kind, found.extension) == ("audio", "ogg") and "artist" not in _ffprobe_tags(found.path)
    finally:
        found.cleanup()
    monkeypatch.setattr(attachments, "MAX_CLIP_SECONDS", 1)
    with pytest.raises(Invalid) as caught:
        prepare(SimpleUploadedFile("voice.ogg", path.read_bytes()))
    assert "phút" in str(caught.value.fields["files"][0]) or "minutes" in str(caught.value.fields["files"][0])


@pytest.mark.django_db
def test_the_stored_photo_through_the_form_has_no_gps(client, cast):
    response = client.post(FORM, form_data(client, cast, files=[jpeg(exif=gps_exif())]))
    assert response.status_code == 200
    attachment = Attachment.objects.get(feedback=Feedback.objects.get())
    with attachment.file.open("rb") as handle, Image.open(handle) as stored:
        assert not stored.getexif().get_ifd(0x8825) and not stored.getexif()
    assert attachment.file.name.endswith(f"{attachment.sha256}.jpg")
