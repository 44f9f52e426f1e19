"""Shared pieces of the public page tests: a solved challenge, a valid form, small files."""

from __future__ import annotations

import io
import re

import pytest
from captcha.models import CaptchaStore
from django.core.files.uploadedfile import SimpleUploadedFile

from nguon.feedback.tests.helpers import street_lights

FORM = "/phan-anh/"
TRACK = "/phan-anh/tra-cuu/"


def challenge(client, url: str = FORM) -> dict:
    """Open the form as a citizen does and read the answer to its challenge from the store."""
    page = client.get(url).content.decode()
    key = re.search(r'name="challenge_0" value="([0-9a-f]+)"', page).group(1)
    return {"challenge_0": key, "challenge_1": CaptchaStore.objects.get(hashkey=key).response}


def form_data(client, cast, **overrides) -> dict:
    data = {
        "topic": street_lights().code,
        "unit": cast.commune.code,
        "address": "12 Phan Trung",
        "title": "Đèn đường hỏng",
        "text": "Đèn đường trước số 12 Phan Trung bị hỏng ba ngày nay, buổi tối rất tối.",
        "name": "Nguyễn Văn An",
        "phone": "0912 345 678",
        "email": "an@example.org",
        "consent_publish": "on",
        **challenge(client),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def jpeg(name: str = "photo.jpg", *, size=(64, 48), exif=None) -> SimpleUploadedFile:
    from PIL import Image

    buffer = io.BytesIO()
    image = Image.new("RGB", size, (200, 120, 40))
    extra = {"exif": exif, "comment": b"GPS 10.9472,106.8196 Nguyen Van An"} if exif is not None else {}
    image.save(buffer, "JPEG", **extra)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def gps_exif():
    """EXIF with a GPS position (Biên Hòa) and a camera model, as a phone writes."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x0110] = "Phone X"  # Model
    exif[0x0112] = 6  # Orientation: rotated 90°
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (10.0, 56.0, 50.0)
    gps[3], gps[4] = "E", (106.0, 49.0, 10.0)
    return exif


@pytest.fixture
def english(client):
    """The client switches to English as a citizen does; the thread's language is Vietnamese again afterwards
    (Django leaves the last request's language active, and later tests call actions without a request)."""
    from django.conf import settings
    from django.utils import translation

    client.post("/i18n/setlang/", {"language": "en", "next": FORM})
    yield client
    translation.activate(settings.LANGUAGE_CODE)
