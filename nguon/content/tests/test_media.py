"""The media library: files are judged by their content, measured, stored once by SHA-256 and served only to users
who can see them."""

import hashlib
import io
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.html import escape
from PIL import Image

from nguon.accounts.roles import Role
from nguon.conftest import make_user
from nguon.content import actions
from nguon.content.models import MediaAsset, MediaKind
from nguon.content.tests.conftest import make_bulletin

needs_ffmpeg = pytest.mark.skipif(not shutil.which("ffmpeg") or not shutil.which("ffprobe"), reason="needs ffmpeg")


def png_bytes(width=64, height=48, color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def pdf_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), (255, 255, 255)).save(buffer, "PDF")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def mp3(tmp_path_factory) -> bytes:
    if not shutil.which("ffmpeg"):
        pytest.skip("needs ffmpeg")
    path = tmp_path_factory.mktemp("audio") / "sine.mp3"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=f=440:d=3", str(path)],
        check=True,
        timeout=60,
    )
    return path.read_bytes()


def upload(client, name: str, content: bytes, unit, **fields):
    return client.post(
        "/bulletins/media/upload/", {"file": SimpleUploadedFile(name, content), "unit": unit.pk, **fields}
    )


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def form_errors(response) -> list[str]:
    assert response.status_code == 400, response.content[:500]
    form = response.context["form"]
    messages = [str(m) for errors in form.errors.values() for m in errors]
    assert messages
    page = response.content.decode()
    assert all(escape(m) in page for m in messages)
    return messages


def test_a_png_is_stored_as_an_image(cast, client_for, media_root):
    content = png_bytes()
    client = client_for(cast.commune_editor)
    response = upload(client, "anh-hoi-nghi.png", content, cast.commune, title="Ảnh hội nghị", author="Phường")
    assert response.status_code == 302, response.content[:800]
    asset = MediaAsset.objects.get()
    sha = hashlib.sha256(content).hexdigest()
    assert response["Location"].endswith(f"#m-{sha[:12]}")
    assert (asset.kind, asset.mime_type, asset.extension) == (MediaKind.IMAGE, "image/png", "png")
    assert (asset.width, asset.height, asset.size) == (64, 48, len(content))
    assert (asset.sha256, asset.unit, asset.uploaded_by) == (sha, cast.commune, cast.commune_editor)
    assert (asset.title, asset.author, asset.original_name) == ("Ảnh hội nghị", "Phường", "anh-hoi-nghi.png")
    assert (media_root / "media" / sha[:2] / f"{sha}.png").read_bytes() == content
    assert "Ảnh hội nghị" in client.get("/bulletins/media/").content.decode()


def test_a_pdf_named_mp3_is_stored_as_a_document(cast, client_for, media_root):
    content = pdf_bytes()
    response = upload(client_for(cast.commune_editor), "bai-hat.mp3", content, cast.commune)
    assert response.status_code == 302, response.content[:800]
    asset = MediaAsset.objects.get()
    assert (asset.kind, asset.mime_type, asset.extension) == (MediaKind.DOCUMENT, "application/pdf", "pdf")
    assert asset.original_name == "bai-hat.mp3"
    assert asset.file.name.endswith(".pdf")
    assert asset.duration is None and asset.loudness_lufs is None


@needs_ffmpeg
def test_random_bytes_named_mp3_are_refused(cast, client_for, media_root):
    content = random.Random(20260302).randbytes(48_000)
    response = upload(client_for(cast.commune_editor), "ban-tin.mp3", content, cast.commune)
    form_errors(response)
    assert response.context["form"].errors["file"]
    assert not MediaAsset.objects.exists()
    assert stored_files(media_root) == []


@needs_ffmpeg
def test_a_truncated_mp3_is_refused(cast, client_for, media_root, mp3):
    response = upload(client_for(cast.commune_editor), "ban-tin.mp3", mp3[: len(mp3) // 2], cast.commune)
    form_errors(response)
    errors = [str(m) for m in response.context["form"].errors["file"]]
    assert any("1.5" in m or "1,5" in m for m in errors), errors  # says where the audio stops
    assert not MediaAsset.objects.exists()
    assert stored_files(media_root) == []


@needs_ffmpeg
def test_a_real_mp3_is_measured(cast, client_for, media_root, mp3):
    response = upload(client_for(cast.commune_editor), "sine.mp3", mp3, cast.commune)
    assert response.status_code == 302, response.content[:800]
    asset = MediaAsset.objects.get()
    assert (asset.kind, asset.mime_type, asset.extension) == (MediaKind.AUDIO, "audio/mpeg", "mp3")
    assert asset.duration == pytest.approx(3.0, abs=0.1)
    # A full-scale-⅛ sine of 440 Hz: about −21 LUFS, peaks near −18 dBTP.
    assert -30 < asset.loudness_lufs < -10
    assert -25 < asset.true_peak_dbtp < 0
    assert asset.width is None and asset.height is None


def test_the_same_file_twice_gives_one_row(cast, client_for, media_root):
    content = png_bytes(color=(10, 120, 10))
    client = client_for(cast.commune_editor)
    assert upload(client, "a.png", content, cast.commune).status_code == 302
    assert upload(client, "b-ten-khac.png", content, cast.commune).status_code == 302
    asset = MediaAsset.objects.get()
    assert asset.original_name == "a.png"
    assert len(stored_files(media_root)) == 1

    # Another unit gets its own library entry for the same content, the stored file is shared.
    assert upload(client_for(cast.province_editor), "c.png", content, cast.province).status_code == 302
    assert MediaAsset.objects.count() == 2
    assert len(stored_files(media_root)) == 1


@pytest.mark.parametrize("size", [300 * 1024, 130 * 1024], ids=["refused-before-reading", "refused-while-reading"])
def test_an_upload_over_the_size_limit_is_refused(cast, client_for, media_root, settings, size):
    settings.MAX_UPLOAD_BYTES = 100 * 1024
    content = pdf_bytes() + b"\0" * size
    response = upload(client_for(cast.commune_editor), "lon.pdf", content, cast.commune)
    messages = form_errors(response)
    assert any("MB" in m for m in messages), messages  # names the limit
    assert not MediaAsset.objects.exists()
    assert stored_files(media_root) == []


def test_upload_to_a_unit_outside_ones_own_is_refused(cast, client_for, media_root):
    client = client_for(cast.commune_editor)
    for unit in (cast.other_commune, cast.province):
        response = upload(client, "a.png", png_bytes(), unit)
        assert "unit" in response.context["form"].errors
        assert response.status_code == 400
    response = upload(client, "rong.png", b"", cast.commune)
    assert "file" in response.context["form"].errors and response.status_code == 400
    assert not MediaAsset.objects.exists()
    assert stored_files(media_root) == []
    assert client_for(cast.outsider).post("/bulletins/media/upload/", {}).status_code == 400


def test_files_are_served_only_to_users_who_can_see_them(cast, client_for, media_root):
    content = png_bytes(color=(1, 2, 3))
    assert upload(client_for(cast.commune_editor), "a.png", content, cast.commune).status_code == 302
    sha = hashlib.sha256(content).hexdigest()
    url = f"/bulletins/media/{sha}/"

    for user in (cast.commune_editor, cast.province_editor, cast.commune_admin):
        response = client_for(user).get(url)
        assert response.status_code == 200, user
        assert b"".join(response.streaming_content) == content
        assert response["Content-Type"] == "image/png"
        assert response["X-Content-Type-Options"] == "nosniff"
    for user in (cast.outsider, make_user("editor.tranbien", cast.other_commune, Role.EDITOR)):
        assert client_for(user).get(url).status_code == 404, user
    assert client_for(cast.commune_editor).get(f"/bulletins/media/{'0' * 64}/").status_code == 404

    from django.test import Client

    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_attachments_of_a_published_province_bulletin_reach_the_communes(cast, client_for, media_root):
    content = png_bytes(color=(9, 9, 9))
    assert upload(client_for(cast.province_editor), "ban-do.png", content, cast.province).status_code == 302
    asset = MediaAsset.objects.get()
    url = f"/bulletins/media/{asset.sha256}/"
    commune = client_for(cast.commune_editor)
    assert commune.get(url).status_code == 404  # a province file, not attached to anything the commune sees

    bulletin = make_bulletin(cast.province, cast.province_editor, title="Bản đồ ngập", attachments=[asset])
    actions.do_submit_bulletin(bulletin, acting_user=cast.province_editor)
    assert commune.get(url).status_code == 404  # not published yet
    publish_bulletin = actions.do_approve_bulletin(bulletin, acting_user=cast.approver, revision_number=1)
    assert publish_bulletin.status == "published"

    page = commune.get(f"/bulletins/{bulletin.pk}/")
    assert url in page.content.decode()
    response = commune.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == content
    assert client_for(cast.outsider).get(url).status_code == 404
