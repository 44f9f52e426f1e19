"""Where docs/device-protocol.md and the server must agree (issue 9): every answer a receiver written from the
document alone may meet, through Django (the Ninja API). The same answers through the gateway are in
test_gateway_agreement.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from nguon.audit.models import AuditEvent
from nguon.broadcast import actions, device_api, reports
from nguon.broadcast.manifest import build
from nguon.broadcast.models import PushEvent
from nguon.broadcast.tests.device_helpers import (
    batch_body,
    enrolment_code,
    heartbeat,
    make_device,
    make_image,
    parse_frames,
    save_slot,
    slot_data,
)
from nguon.broadcast.tests.schedule_helpers import HCM

BASE = "/device/v1"


@pytest.fixture(autouse=True)
def fresh_limits():
    device_api.report_limiter.reset()
    device_api.enrol_limiter.reset()


@pytest.fixture
def enrolled(cast, client):
    device = make_device(cast)
    response = client.post(f"{BASE}/enrol", {"code": enrolment_code(cast, device)}, content_type="application/json")
    assert response.status_code == 200, response.content
    return device, response.json()["token"]


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def protocol_error(response, status: int, code: str) -> None:
    """The answer is the protocol's JSON error shape (§6), with X-Server-Time like every device answer."""
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert datetime.fromisoformat(response["X-Server-Time"])


def test_hardware_texts_over_100_characters_are_cut_not_refused(cast, client):
    device = make_device(cast)
    hardware = {"model": "M" * 300, "serial": "S-1", "firmware": "2.1.0-" + "x" * 200}
    response = client.post(
        f"{BASE}/enrol",
        {"code": enrolment_code(cast, device), "hardware": hardware},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    audit = AuditEvent.objects.get(action="broadcast.device_enrolled")
    kept = audit.changes["hardware"]
    assert kept["model"] == "M" * 100
    assert kept["serial"] == "S-1"
    assert kept["firmware"] == ("2.1.0-" + "x" * 200)[:100]


@pytest.mark.parametrize("hardware", [{"model": 5}, {"serial": None}])
def test_hardware_of_the_wrong_type_is_still_invalid_request(cast, client, hardware):
    device = make_device(cast)
    response = client.post(
        f"{BASE}/enrol", {"code": enrolment_code(cast, device), "hardware": hardware}, content_type="application/json"
    )
    protocol_error(response, 400, "invalid_request")


def test_batches_over_1000_records_and_seq_past_2_63_are_invalid_batches(enrolled, client):
    _device, token = enrolled
    now = timezone.now()
    too_many = batch_body(*(heartbeat(n, now) for n in range(1, reports.MAX_RECORDS + 2)))
    seq_too_big = batch_body(heartbeat(2**63, now))
    for body in (too_many, seq_too_big):
        response = client.post(f"{BASE}/reports", body, content_type="application/json", **bearer(token))
        protocol_error(response, 400, "invalid_batch")
    # The limits themselves pass.
    edge = batch_body(*(heartbeat(n, now) for n in range(1, reports.MAX_RECORDS)), heartbeat(2**63 - 1, now))
    response = client.post(f"{BASE}/reports", edge, content_type="application/json", **bearer(token))
    assert response.status_code == 200
    assert response.json()["stored"] == reports.MAX_RECORDS


def test_head_on_media_is_get_without_the_body_and_other_methods_get_a_json_405(cast, enrolled, client):
    _device, token = enrolled
    asset = make_image(cast, seed=21)
    save_slot(cast, slot_data(media=asset))
    url = f"{BASE}/media/{asset.sha256}"
    size = len(Path(asset.file.path).read_bytes())

    got = client.get(url, **bearer(token))
    head = client.head(url, **bearer(token))
    assert head.status_code == 200
    assert head.content == b""
    for name in ("Content-Type", "Content-Length", "Accept-Ranges", "ETag", "Cache-Control"):
        assert head[name] == got[name], name
    assert head["Content-Length"] == str(size)
    ranged = client.head(url, HTTP_RANGE="bytes=0-99", **bearer(token))
    assert (ranged.status_code, ranged["Content-Length"], ranged.content) == (206, "100", b"")
    assert client.head(url, HTTP_IF_NONE_MATCH=f'"{asset.sha256}"', **bearer(token)).status_code == 304

    for method in ("post", "put", "delete"):
        response = getattr(client, method)(url, **bearer(token))
        protocol_error(response, 405, "method_not_allowed")
        assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}
    protocol_error(client.post(f"{BASE}/manifest", **bearer(token)), 405, "method_not_allowed")
    protocol_error(client.get(f"{BASE}/reports", **bearer(token)), 405, "method_not_allowed")


@pytest.mark.parametrize("path", ["/", "/nope", "/manifest/", "/media", "/media/", "/v2/manifest", "/a/b/c"])
def test_unknown_paths_under_the_device_api_get_a_json_404(client, db, path):
    protocol_error(client.get(f"{BASE}{path}"), 404, "not_found")
    protocol_error(client.post(f"{BASE}{path}", b"{}", content_type="application/json"), 404, "not_found")


def test_the_hash_in_a_media_path_is_lowercase(cast, enrolled, client):
    _device, token = enrolled
    asset = make_image(cast, seed=22)
    save_slot(cast, slot_data(media=asset))
    assert client.get(f"{BASE}/media/{asset.sha256}", **bearer(token)).status_code == 200
    protocol_error(client.get(f"{BASE}/media/{asset.sha256.upper()}", **bearer(token)), 404, "not_found")


def test_openapi_names_the_alert_record_the_503_on_reports_and_the_304_on_media(client, db):
    schema = client.get(f"{BASE}/openapi.json").json()
    reports_op = schema["paths"][f"{BASE}/reports"]["post"]
    record = reports_op["requestBody"]["content"]["application/json"]["schema"]["properties"]["records"]["items"]
    assert "alert" in record["properties"]["type"]["enum"]
    assert record["properties"]["state"]["enum"] == ["acknowledged", "played", "displayed", "failed"]
    assert reports_op["requestBody"]["content"]["application/json"]["schema"]["properties"]["records"]["maxItems"] == (
        reports.MAX_RECORDS
    )
    assert {"200", "400", "401", "413", "429", "503"} <= set(reports_op["responses"])
    media = schema["paths"][f"{BASE}/media/{{sha256}}"]
    assert {"200", "206", "304", "404", "416"} <= set(media["get"]["responses"])
    assert "head" in media


@pytest.mark.parametrize("garbage", ["abc", "-5", "1e3", "99999999999999999999999", " "])
def test_a_garbage_last_event_id_starts_the_stream_at_the_newest_event(cast, enrolled, client, garbage):
    device, token = enrolled
    actions.do_push_command([device], type="volume", body={"volume": 30}, acting_user=cast.approver, unit=cast.commune)
    older = PushEvent.objects.get(type="volume")
    response = client.get(f"{BASE}/events", HTTP_LAST_EVENT_ID=garbage, **bearer(token))
    assert response.status_code == 200
    chunks = iter(response.streaming_content)
    assert next(chunks).startswith(b": connected")
    actions.do_push_command([device], type="stop", body={}, acting_user=cast.approver, unit=cast.commune)
    [frame] = parse_frames(next(chunks).decode())
    assert frame["event"] == "stop"  # not the older `volume` event: a garbage id counts as none
    assert int(frame["id"]) > older.id


def test_occurrences_that_already_ended_today_are_left_out(cast):
    device = make_device(cast)
    save_slot(cast, slot_data("Sáng sớm", start=time(5, 30)))
    save_slot(cast, slot_data("Chiều", start=time(17, 0)))
    today = timezone.localdate()
    noon = datetime.combine(today, time(12, 0), tzinfo=HCM)
    with time_machine.travel(noon, tick=False):
        document = build(device)
    first_two = [(s["name"], s["start"]) for s in document["slots"][:2]]
    evening = datetime.combine(today, time(17, 0), tzinfo=HCM)
    tomorrow_morning = datetime.combine(today + timedelta(days=1), time(5, 30), tzinfo=HCM)
    iso = "%Y-%m-%dT%H:%M:%SZ"
    assert first_two == [
        ("Chiều", evening.astimezone(UTC).strftime(iso)),
        ("Sáng sớm", tomorrow_morning.astimezone(UTC).strftime(iso)),
    ]
    # valid_from is still the start of today, local time.
    assert document["valid_from"] == datetime.combine(today, time.min, tzinfo=HCM).astimezone(UTC).strftime(iso)
    assert json.dumps(document)  # plain JSON
