"""Where docs/device-protocol.md and the server must agree, through the real ASGI stack (a uvicorn process with the
gateway in front of Django): wrong methods, unknown paths, HEAD on media, a garbage Last-Event-ID, long hardware."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from nguon.broadcast import actions
from nguon.broadcast.models import Device
from nguon.broadcast.tests.device_helpers import enrolment_code, make_device, make_image, save_slot, slot_data
from nguon.broadcast.tests.test_gateway import (
    BASE,
    Events,
    bearer,
    enrol,
)
from nguon.broadcast.tests.test_gateway import server as server  # noqa: F401 - the uvicorn fixture


@pytest.fixture
def device(cast, transactional_db) -> Device:
    return make_device(cast, "GW-AG1")


def assert_protocol_error(answer, status: int, code: str) -> None:
    got_status, headers, body = answer
    assert got_status == status, body
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"]["code"] == code
    assert datetime.fromisoformat(headers["X-Server-Time"])


def test_head_on_media_answers_the_get_headers_without_a_body(server, cast, device):
    token, _key = enrol(server, cast, device)
    asset = make_image(cast, seed=31)
    save_slot(cast, slot_data(media=asset))
    url = f"{BASE}/media/{asset.sha256}"
    size = len(Path(asset.file.path).read_bytes())

    status, got, body = server.request("GET", url, headers=bearer(token))
    assert (status, len(body)) == (200, size)
    status, head, body = server.request("HEAD", url, headers=bearer(token))
    assert status == 200
    assert body == b""
    for name in ("Content-Type", "Content-Length", "Accept-Ranges", "ETag", "Cache-Control"):
        assert head[name] == got[name], name
    assert datetime.fromisoformat(head["X-Server-Time"])
    status, head, body = server.request("HEAD", url, headers={**bearer(token), "Range": "bytes=10-19"})
    assert (status, head["Content-Length"], head["Content-Range"], body) == (206, "10", f"bytes 10-19/{size}", b"")
    assert server.request("HEAD", f"{BASE}/media/{'c' * 64}", headers=bearer(token))[0] == 404


def test_wrong_methods_and_unknown_paths_get_json_errors_with_the_server_time(server, cast, device):
    token, _key = enrol(server, cast, device)
    asset = make_image(cast, seed=32)
    save_slot(cast, slot_data(media=asset))
    media = f"{BASE}/media/{asset.sha256}"

    for method in ("POST", "PUT", "DELETE"):
        answer = server.request(method, media, b"{}", {**bearer(token), "Content-Type": "application/json"})
        assert_protocol_error(answer, 405, "method_not_allowed")
        assert set(answer[1]["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}
    assert_protocol_error(server.request("POST", f"{BASE}/manifest", b"", bearer(token)), 405, "method_not_allowed")
    assert_protocol_error(server.request("PUT", f"{BASE}/reports", b"{}", bearer(token)), 405, "method_not_allowed")
    for path in ("/", "/nope", "/manifest/", "/media/", "/v2/events"):
        assert_protocol_error(server.request("GET", BASE + path, headers=bearer(token)), 404, "not_found")
        assert_protocol_error(server.request("POST", BASE + path, b"{}", bearer(token)), 404, "not_found")


def test_a_garbage_last_event_id_is_taken_as_none(server, cast, device):
    token, _key = enrol(server, cast, device)
    # The gateway must have seen the older event before the stream under test opens: read it on a first stream.
    first = Events(server, token)
    actions.do_push_command([device], type="volume", body={"volume": 30}, acting_user=cast.approver, unit=cast.commune)
    while (frame := first.next_frame()) is not None and frame["event"] != "volume":
        pass  # the manifest event of its enrolment
    assert frame is not None
    first.close()
    stream = Events.__new__(Events)
    stream.conn = server.connect(timeout=10)
    stream.conn.request(
        "GET", f"{BASE}/events", headers={**bearer(token), "Accept": "text/event-stream", "Last-Event-ID": "garbage!"}
    )
    stream.response = stream.conn.getresponse()
    try:
        assert stream.response.status == 200
        actions.do_push_command([device], type="stop", body={}, acting_user=cast.approver, unit=cast.commune)
        frame = stream.next_frame()
        assert frame is not None and frame["event"] == "stop"  # the older `volume` event is not replayed
    finally:
        stream.close()


def test_long_hardware_texts_are_cut_through_the_gateway_too(server, cast, device):
    body = json.dumps({"code": enrolment_code(cast, device), "hardware": {"firmware": "f" * 500}}).encode()
    status, _headers, answer = server.request("POST", f"{BASE}/enrol", body, {"Content-Type": "application/json"})
    assert status == 200, answer
