"""Image uploads are judged by their header before a pixel is decoded: a small compressed PNG of 13,000 × 13,000
pixels, or a decompression bomb past Pillow's own guard, is refused with a clear message (JSON in the API) and
nothing is stored."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from nguon.content.models import MediaAsset

pytestmark = pytest.mark.django_db


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def blank_png(width: int, height: int, *, bit_depth: int = 8) -> bytes:
    """A real, complete greyscale PNG of the given size, all black: it compresses to almost nothing, and decodes to
    width × height bytes. Built row by row, so that making it never holds the decoded image in memory."""
    row = b"\x00" + b"\x00" * ((width * bit_depth + 7) // 8)  # filter byte, then the row's samples
    compressor = zlib.compressobj(6)
    parts = []
    rows_per_chunk = max(1, (4 << 20) // len(row))
    block = row * rows_per_chunk
    done = 0
    while done < height:
        count = min(rows_per_chunk, height - done)
        parts.append(compressor.compress(block if count == rows_per_chunk else row * count))
        done += count
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", b"".join(parts)) + _chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def huge_png() -> bytes:
    """13,000 × 13,000 pixels (169 megapixels) in well under a megabyte."""
    return blank_png(13_000, 13_000)


@pytest.fixture(scope="module")
def bomb_png() -> bytes:
    """20,000 × 20,000 one-bit pixels (400 megapixels): past twice Pillow's limit, where Pillow itself raises."""
    return blank_png(20_000, 20_000, bit_depth=1)


@pytest.fixture(autouse=True)
def media_dir(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media-root")
    return tmp_path / "media-root"


def stored(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def upload(client, content: bytes, unit, name="anh.png"):
    return client.post("/bulletins/media/upload/", {"file": SimpleUploadedFile(name, content), "unit": unit.pk})


def test_the_samples_are_what_they_claim(huge_png, bomb_png):
    assert len(huge_png) < 700_000 and len(bomb_png) < 200_000
    with Image.open(io.BytesIO(huge_png)) as image:
        assert image.size == (13_000, 13_000)


def test_a_small_file_of_13000_by_13000_pixels_is_refused_in_vietnamese(cast, client_for, huge_png, media_dir):
    response = upload(client_for(cast.commune_editor), huge_png, cast.commune)
    assert response.status_code == 400
    errors = response.context["form"].errors["file"]
    assert len(errors) == 1 and "13.000 × 13.000" in errors[0] and "40" in errors[0], errors
    assert "Ảnh quá lớn" in errors[0]
    assert not MediaAsset.objects.exists() and stored(media_dir) == []


def test_a_decompression_bomb_is_refused_not_a_server_error(cast, client_for, bomb_png, media_dir):
    response = upload(client_for(cast.commune_editor), bomb_png, cast.commune)
    assert response.status_code == 400
    assert "Ảnh quá lớn" in response.context["form"].errors["file"][0]
    assert not MediaAsset.objects.exists() and stored(media_dir) == []


def test_the_cap_is_a_setting_and_sits_below_pillows(cast, client_for, settings, media_dir):
    assert settings.IMAGE_MAX_MEGAPIXELS == 40  # Pillow warns only from ~89 and refuses from ~179
    settings.IMAGE_MAX_MEGAPIXELS = 1
    client = client_for(cast.commune_editor)
    assert upload(client, blank_png(1_001, 1_000), cast.commune, "lon.png").status_code == 400
    response = upload(client, blank_png(1_000, 1_000), cast.commune, "vua.png")
    assert response.status_code == 302
    asset = MediaAsset.objects.get()
    assert (asset.width, asset.height) == (1_000, 1_000)


@pytest.mark.parametrize("sample", ["huge_png", "bomb_png"])
def test_the_api_answers_json(cast, client_for, request, sample, media_dir):
    content = request.getfixturevalue(sample)
    client = client_for(cast.commune_editor)
    response = client.post("/api/v1/bulletins/media", {"file": SimpleUploadedFile("anh.png", content), "unit": "26068"})
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == "image_too_large"
    assert error["fields"]["file"] and "Ảnh quá lớn" in error["message"]
    assert not MediaAsset.objects.exists() and stored(media_dir) == []


def test_the_api_takes_an_ordinary_image_and_lists_the_library(cast, client_for, media_dir):
    client = client_for(cast.commune_editor)
    content = blank_png(64, 48)
    response = client.post("/api/v1/bulletins/media", {"file": SimpleUploadedFile("a.png", content), "unit": "26068",
                                                       "title": "Ảnh nhỏ"})  # fmt: skip
    assert response.status_code == 201, response.content[:300]
    body = response.json()
    assert (body["kind"], body["width"], body["height"], body["title"], body["unit_code"]) == (
        "image", 64, 48, "Ảnh nhỏ", "26068"
    )  # fmt: skip
    listed = client.get("/api/v1/bulletins/media").json()
    assert [item["sha256"] for item in listed["items"]] == [body["sha256"]]
    # Outside the caller's units: refused, as JSON.
    other = client.post("/api/v1/bulletins/media", {"file": SimpleUploadedFile("a.png", content), "unit": "26041"})
    assert other.status_code in (403, 404) and "error" in other.json()


MEASURE = """
import os, resource, sys
import django
django.setup()
from pathlib import Path
from nguon.content import media
from nguon.core.errors import Invalid
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    media.sniff(Path(sys.argv[1]))
except Invalid as exc:
    print(exc.code)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_judging_the_huge_image_takes_no_memory(huge_png, tmp_path):
    """In a fresh process (peak memory only goes up): before the check, decoding it took 169 MB more."""
    path = tmp_path / "huge.png"
    path.write_bytes(huge_png)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "nguon.config.settings_test"}
    result = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, env=env,
                            timeout=120, check=True)  # fmt: skip
    code, grown_mb = result.stdout.split()
    assert code == "image_too_large"
    assert int(grown_mb) < 20, result.stdout


def test_a_format_we_do_not_take_is_refused_before_decoding(cast, client_for, media_dir):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 20, 30)).save(buffer, "BMP")
    response = upload(client_for(cast.commune_editor), buffer.getvalue(), cast.commune, "anh.bmp")
    assert response.status_code == 400
    assert "JPEG, PNG, GIF" in " ".join(response.context["form"].errors["file"])
    assert not MediaAsset.objects.exists()
