import io
import re
from urllib.parse import urlsplit

import pytest
import segno
from django.conf import settings

pytestmark = pytest.mark.django_db


def _svg(data: str) -> str:
    buffer = io.BytesIO()
    segno.make(data, error="m").save(buffer, kind="svg", scale=8, border=2, xmldecl=False, svgclass="qr")
    return buffer.getvalue().decode()


def test_the_qr_code_holds_the_form_address_with_the_commune(client, cast):
    response = client.get("/phan-anh/qr.svg", {"xa": cast.commune.code})
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert "public" in response["Cache-Control"]
    # segno cannot decode: the same address encoded independently gives the very same symbol.
    expected = f"{settings.PUBLIC_URL.rstrip('/')}/phan-anh/?xa={cast.commune.code}"
    assert response.content.decode() == _svg(expected)
    assert response.content.decode() != _svg(expected.replace(cast.commune.code, cast.other_commune.code))
    # And that address opens the form with the commune chosen.
    page = client.get(urlsplit(expected).path, {"xa": cast.commune.code}).content.decode()
    assert f'<option value="{cast.commune.code}" selected>' in page


def test_no_qr_code_for_what_is_not_a_commune(client, cast):
    assert client.get("/phan-anh/qr.svg", {"xa": cast.province.code}).status_code == 404
    assert client.get("/phan-anh/qr.svg", {"xa": "nope"}).status_code == 404
    # Without a commune: the plain form.
    plain = client.get("/phan-anh/qr.svg").content.decode()
    assert plain == _svg(f"{settings.PUBLIC_URL.rstrip('/')}/phan-anh/")


def test_the_board_shows_the_qr_code_of_its_commune(client):
    page = client.get("/board/").content.decode()
    assert re.search(r'id="idle-qr"[^>]*data-src="/phan-anh/qr.svg"', page)
    script = client.get("/static/nguon/board/screen.js")
    body = b"".join(script.streaming_content).decode() if script.streaming else script.content.decode()
    assert 'box.dataset.src + "?xa=" + encodeURIComponent(unit)' in body
