"""NGUON_MEDIA_ACCEL_REDIRECT in the Django fallback (the gateway's is tested through nginx in test_nginx.py)."""

from __future__ import annotations

from django.test import override_settings

from nguon.broadcast.protocol import BASE
from nguon.broadcast.tests.device_helpers import make_image, save_slot, slot_data
from nguon.broadcast.tests.test_device_api import bearer, device, enrolled, fresh_limits  # noqa: F401


@override_settings(MEDIA_ACCEL_REDIRECT="/_protected_media/")
def test_an_authorised_media_request_is_handed_to_nginx(cast, enrolled, client, django_capture_on_commit_callbacks):  # noqa: F811
    _device, token, _key = enrolled
    asset = make_image(cast, seed=5)
    other = make_image(cast, seed=6)
    with django_capture_on_commit_callbacks(execute=True):
        save_slot(cast, slot_data(media=asset))

    response = client.get(f"{BASE}/media/{asset.sha256}", **bearer(token))
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/_protected_media/{asset.file.name}"
    assert response.content == b""
    assert response["ETag"] == f'"{asset.sha256}"'
    assert response["Content-Type"] == "image/png"

    # Refused before any redirect: no file, no internal address.
    refused = client.get(f"{BASE}/media/{other.sha256}", **bearer(token))
    assert refused.status_code == 404
    assert "X-Accel-Redirect" not in refused
    assert client.get(f"{BASE}/media/{asset.sha256}").status_code == 401
