"""The device protocol through Django (the Ninja API at /device/v1/), as WSGI and the test server serve it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from nguon.broadcast import actions, device_api
from nguon.broadcast.keys import signer
from nguon.broadcast.models import (
    Device,
    DeviceFault,
    DeviceLog,
    DeviceStatusChange,
    DeviceToken,
    Heartbeat,
    PlayRecord,
    PushEvent,
)
from nguon.broadcast.tests.device_helpers import (
    batch_body,
    enrolment_code,
    heartbeat,
    iso,
    make_device,
    make_image,
    open_event,
    parse_frames,
    save_slot,
    slot_data,
)
from nguon.lib.signing import verify

BASE = "/device/v1"


@pytest.fixture(autouse=True)
def fresh_limits():
    """Rate-limit windows are per process; each test starts with none used (device ids repeat across tests)."""
    device_api.report_limiter.reset()
    device_api.enrol_limiter.reset()


@pytest.fixture
def device(cast):
    return make_device(cast)


@pytest.fixture
def enrolled(cast, device, client):
    """(device, token, public key), enrolled through the API."""
    response = client.post(f"{BASE}/enrol", {"code": enrolment_code(cast, device)}, content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    return device, body["token"], body["public_key"]


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def error_of(response) -> str:
    assert response["Content-Type"] == "application/json"
    return response.json()["error"]["code"]


def test_enrolment_code_works_once_and_every_bad_code_gets_the_same_answer(cast, device, client):
    code = enrolment_code(cast, device)
    hardware = {"model": "NL-4G-200", "serial": "A1234", "firmware": "2.1.0"}

    response = client.post(
        f"{BASE}/enrol", {"code": code.lower(), "hardware": hardware}, content_type="application/json"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["device"] == {
        "code": "BH-001",
        "name": "Cụm loa BH-001",
        "kind": "speaker",
        "unit": "26068",
        "units": ["75", "26068"],  # what it checks event audiences with (§4.2)
        "groups": [],
    }
    assert body["token"].startswith("nd1_")
    assert body["public_key"] == signer().public_key_b64
    assert body["protocol"] == 1
    assert datetime.fromisoformat(body["server_time"]) - timezone.now() < timedelta(seconds=5)
    assert DeviceToken.objects.get(device=device).token_hash == actions.token_hash(body["token"])

    used = client.post(f"{BASE}/enrol", {"code": code}, content_type="application/json")
    unknown = client.post(f"{BASE}/enrol", {"code": "ABCD-EFGH"}, content_type="application/json")
    stale = enrolment_code(cast, device)
    enrolment_code(cast, device)  # a newer code makes the earlier one expire
    expired = client.post(f"{BASE}/enrol", {"code": stale}, content_type="application/json")

    for refused in (used, unknown, expired):
        assert refused.status_code == 400
        assert error_of(refused) == "invalid_code"
    assert used.json() == unknown.json() == expired.json()
    assert DeviceToken.objects.filter(device=device).count() == 1


def test_enrolment_attempts_from_one_address_are_limited(cast, device, client):
    answers = [
        client.post(f"{BASE}/enrol", {"code": f"WXYZ-{n:04d}"}, content_type="application/json").status_code
        for n in range(device_api.ENROL_PER_MINUTE + 1)
    ]
    assert answers[:-1] == [400] * device_api.ENROL_PER_MINUTE
    assert answers[-1] == 429


def test_a_malformed_enrolment_is_a_400_not_a_500(client, db):
    response = client.post(f"{BASE}/enrol", "not json", content_type="application/json")
    assert response.status_code == 400
    assert error_of(response) == "invalid_request"


def test_wrong_missing_and_revoked_tokens_get_401(cast, enrolled, client):
    device, token, _key = enrolled
    assert client.get(f"{BASE}/manifest", **bearer(token)).status_code == 200

    for headers in ({}, bearer("nd1_wrong"), {"HTTP_AUTHORIZATION": f"Basic {token}"}):
        response = client.get(f"{BASE}/manifest", **headers)
        assert response.status_code == 401
        assert error_of(response) == "unauthenticated"
        assert response["WWW-Authenticate"] == "Bearer"

    actions.do_revoke_tokens(device, acting_user=cast.commune_admin)
    for path in ("/manifest", "/events", f"/media/{'0' * 64}"):
        assert client.get(BASE + path, **bearer(token)).status_code == 401
    assert (
        client.post(f"{BASE}/reports", batch_body(), content_type="application/json", **bearer(token)).status_code
        == 401
    )


def test_manifest_is_signed_and_revalidates_with_304(enrolled, client, django_assert_max_num_queries):
    device, token, public_key = enrolled

    # The worker has not compiled it (on-commit work does not run in this test's transaction): compiled on demand.
    first = client.get(f"{BASE}/manifest", **bearer(token))

    assert first.status_code == 200
    assert verify(public_key, first.content, first["X-Nguon-Signature"])
    manifest = json.loads(first.content)
    assert manifest["device"]["code"] == device.code
    assert first["X-Nguon-Manifest-Version"] == str(manifest["version"])
    assert first["ETag"].startswith(f'"{manifest["version"]}-')
    server_time = datetime.fromisoformat(first["X-Server-Time"])
    assert abs(server_time - timezone.now()) < timedelta(seconds=5)

    with django_assert_max_num_queries(2):  # the token, the manifest
        again = client.get(f"{BASE}/manifest", HTTP_IF_NONE_MATCH=first["ETag"], **bearer(token))
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]
    assert "X-Server-Time" in again

    with django_assert_max_num_queries(2):
        full = client.get(f"{BASE}/manifest", HTTP_IF_NONE_MATCH='"0-stale"', **bearer(token))
    assert full.status_code == 200
    assert full.content == first.content


def test_a_tampered_manifest_does_not_verify(enrolled, client):
    _device, token, public_key = enrolled
    response = client.get(f"{BASE}/manifest", **bearer(token))
    tampered = response.content.replace(b'"volume":80', b'"volume":100', 1)
    assert tampered != response.content
    assert not verify(public_key, tampered, response["X-Nguon-Signature"])


def test_media_in_the_manifest_is_served_with_ranges(cast, enrolled, client, django_capture_on_commit_callbacks):
    device, token, _key = enrolled
    asset = make_image(cast, seed=1)
    other = make_image(cast, seed=2)
    with django_capture_on_commit_callbacks(execute=True):
        save_slot(cast, slot_data(media=asset))
    data = Path(asset.file.path).read_bytes()
    url = f"{BASE}/media/{asset.sha256}"

    whole = client.get(url, **bearer(token))
    assert whole.status_code == 200
    assert b"".join(whole.streaming_content) == data
    assert whole["Content-Length"] == str(len(data))
    assert whole["Accept-Ranges"] == "bytes"
    assert whole["ETag"] == f'"{asset.sha256}"'
    assert whole["Cache-Control"] == "public, max-age=31536000, immutable"
    assert whole["Content-Type"] == "image/png"

    part = client.get(url, HTTP_RANGE="bytes=100-1099", **bearer(token))
    assert part.status_code == 206
    assert b"".join(part.streaming_content) == data[100:1100]
    assert part["Content-Range"] == f"bytes 100-1099/{len(data)}"
    assert part["Content-Length"] == "1000"

    tail = client.get(url, HTTP_RANGE="bytes=-10", **bearer(token))
    assert tail.status_code == 206
    assert b"".join(tail.streaming_content) == data[-10:]

    beyond = client.get(url, HTTP_RANGE=f"bytes={len(data)}-", **bearer(token))
    assert beyond.status_code == 416
    assert beyond["Content-Range"] == f"bytes */{len(data)}"

    assert client.get(url, HTTP_IF_NONE_MATCH=f'"{asset.sha256}"', **bearer(token)).status_code == 304

    # Stored, but no manifest of this device names it: as good as absent.
    for missing in (f"{BASE}/media/{other.sha256}", f"{BASE}/media/{'a' * 64}", f"{BASE}/media/not-a-hash"):
        response = client.get(missing, **bearer(token))
        assert response.status_code == 404
        assert error_of(response) == "not_found"


def test_media_named_by_a_live_play_command_may_be_fetched(cast, enrolled, client):
    device, token, _key = enrolled
    asset = make_image(cast, seed=3)
    url = f"{BASE}/media/{asset.sha256}"
    assert client.get(url, **bearer(token)).status_code == 404

    item = {"kind": "audio", "title": "Thông báo", "sha256": asset.sha256, "url": url}
    actions.do_push_command([device], type="play", body={"item": item}, acting_user=cast.approver, unit=cast.commune)

    assert client.get(url, **bearer(token)).status_code == 200


def post_batch(client, token, body: bytes):
    return client.post(f"{BASE}/reports", body, content_type="application/json", **bearer(token))


def test_a_batch_is_stored_once_when_resent_or_reordered(enrolled, client):
    device, token, _key = enrolled
    now = timezone.now()
    records = [
        heartbeat(1, now - timedelta(minutes=3), current_item="1@2026-11-27/41"),
        {
            "seq": 2,
            "type": "play",
            "occurrence": "99999@2026-11-27",
            "item": 41,
            "started_at": iso(now),
            "ended_at": iso(now),
            "result": "played",
        },
        {"seq": 3, "type": "log", "at": iso(now), "level": "warning", "message": "manifest_bad_signature"},
        {"seq": 4, "type": "fault", "at": iso(now), "code": "amplifier", "message": "no output"},
    ]

    first = post_batch(client, token, batch_body(*records))
    assert first.status_code == 200
    assert first.json()["stored"] == 4
    assert first.json()["duplicates"] == 0
    assert first.json()["rejected"] == []

    again = post_batch(client, token, batch_body(*records))
    assert again.json()["stored"] == 0
    assert again.json()["duplicates"] == 4

    # Reordered, overlapping, with a seq twice: only 5 and 6 are new.
    later = [heartbeat(6, now, clock_skew_ms=40), records[2], heartbeat(5, now - timedelta(minutes=1))]
    reordered = post_batch(client, token, batch_body(*later, later[0]))
    assert reordered.json()["stored"] == 2
    assert reordered.json()["duplicates"] == 2

    assert Heartbeat.objects.filter(device=device).count() == 3
    assert PlayRecord.objects.get(device=device).item == "41"
    assert PlayRecord.objects.get(device=device).slot is None  # no such slot: kept, unlinked
    assert DeviceLog.objects.filter(device=device).count() == 2
    assert DeviceLog.objects.get(device=device, seq=4).level == "fault"
    assert DeviceFault.objects.get(device=device).code == "amplifier"

    device.refresh_from_db()
    assert device.is_online
    assert device.report_seq == 6
    assert device.clock_skew_ms == 40  # from heartbeat 6, the newest
    assert device.silent_after == device.last_seen_at + timedelta(seconds=device.grace_seconds)
    assert DeviceStatusChange.objects.filter(device=device, online=True).count() == 1

    # A late batch with an older heartbeat is stored, but does not overwrite the newer status.
    post_batch(client, token, batch_body(heartbeat(1000, now - timedelta(minutes=5), clock_skew_ms=9)))
    late = post_batch(client, token, batch_body(heartbeat(7, now - timedelta(minutes=9), clock_skew_ms=-999)))
    assert late.json()["stored"] == 1
    device.refresh_from_db()
    assert device.clock_skew_ms == 9


def test_records_from_the_future_or_the_distant_past_are_refused_one_by_one(enrolled, client):
    device, token, _key = enrolled
    now = timezone.now()
    response = post_batch(
        client,
        token,
        batch_body(
            heartbeat(1, now),
            heartbeat(2, now + timedelta(minutes=6)),
            heartbeat(3, now - timedelta(days=31)),
            heartbeat(4, now + timedelta(minutes=4)),
            {"seq": 5, "type": "telemetry", "at": iso(now)},
            {"seq": 6, "type": "heartbeat", "at": "2026-11-27T10:00:00"},  # no zone
            heartbeat(7, now, volume=101),
            {"seq": 8, "type": "log", "at": iso(now), "message": "nul \x00 byte"},
            {"seq": 9, "type": ["heartbeat"], "at": iso(now)},
            {"seq": 10, "type": "log", "at": iso(now), "level": ["error"], "message": "odd"},
            {"seq": 11, "type": "play", "occurrence": "1@2026-11-27", "started_at": iso(now), "result": {"x": 1}},
            {"seq": 12, "type": "heartbeat", "at": "0001-01-01T00:00:00+01:00"},
            {"seq": 13, "type": "heartbeat", "at": iso(now), "signal": 40000},
        ),
    )

    assert response.status_code == 200
    body = response.json()
    assert body["stored"] == 2
    assert body["rejected"] == [
        {"seq": 2, "reason": "in_future"},
        {"seq": 3, "reason": "too_old"},
        {"seq": 5, "reason": "unknown_type"},
        {"seq": 6, "reason": "invalid"},
        {"seq": 7, "reason": "invalid"},
        {"seq": 8, "reason": "invalid"},
        {"seq": 9, "reason": "unknown_type"},
        {"seq": 10, "reason": "invalid"},
        {"seq": 11, "reason": "invalid"},
        {"seq": 12, "reason": "too_old"},
        {"seq": 13, "reason": "invalid"},
    ]
    assert sorted(Heartbeat.objects.filter(device=device).values_list("seq", flat=True)) == [1, 4]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"records": {}}',
        b'{"records": [{"type": "heartbeat"}]}',
        b'{"records": [{"seq": 0}]}',
        b'{"records": [{"seq": true}]}',
        b'{"records": [1]}',
    ],
)
def test_a_body_that_is_not_a_batch_is_refused_whole(enrolled, client, body):
    device, token, _key = enrolled
    response = post_batch(client, token, body)
    assert response.status_code == 400
    assert error_of(response) == "invalid_batch"
    assert not Heartbeat.objects.exists()


def test_a_batch_over_one_mebibyte_is_413(enrolled, client):
    _device, token, _key = enrolled
    now = timezone.now()
    big = batch_body(*(heartbeat(n, now, current_item="x" * 1200) for n in range(1, 1000)))
    assert len(big) > 1024 * 1024
    response = post_batch(client, token, big)
    assert response.status_code == 413
    assert error_of(response) == "too_large"
    assert not Heartbeat.objects.exists()


def test_a_device_that_posts_too_often_is_told_when_to_retry(enrolled, client):
    _device, token, _key = enrolled
    answers = [post_batch(client, token, batch_body()) for _ in range(device_api.reports.REPORTS_PER_MINUTE + 1)]
    assert {a.status_code for a in answers[:-1]} == {200}
    assert answers[-1].status_code == 429
    assert error_of(answers[-1]) == "rate_limited"
    assert 1 <= int(answers[-1]["Retry-After"]) <= 60


def test_event_stream_carries_a_signed_manifest_event_after_a_slot_change(
    cast, enrolled, client, django_capture_on_commit_callbacks
):
    device, token, public_key = enrolled
    response = client.get(f"{BASE}/events", HTTP_ACCEPT="text/event-stream", **bearer(token))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    chunks = iter(response.streaming_content)
    assert next(chunks).startswith(b": connected")

    with django_capture_on_commit_callbacks(execute=True):
        save_slot(cast, slot_data())  # the worker (inline in tests) recompiles and writes a "manifest" event

    [frame] = parse_frames(next(chunks).decode())
    event_row = PushEvent.objects.get(type="manifest")
    assert frame["event"] == "manifest"
    assert frame["id"] == str(event_row.id)
    payload = open_event(frame["data"], public_key)
    assert payload["type"] == "manifest"
    assert payload["id"] == event_row.id
    assert payload["device"] == device.code  # addressed to this device alone
    assert datetime.fromisoformat(payload["expires"]) > timezone.now()


def test_event_stream_replays_what_came_after_last_event_id(cast, enrolled, client):
    device, token, public_key = enrolled
    other = make_device(cast, "BH-002")
    actions.do_push_command(
        [device, other], type="volume", body={"volume": 30}, acting_user=cast.approver, unit=cast.commune
    )
    first = PushEvent.objects.get(type="volume")
    actions.do_push_command([other], type="stop", body={}, acting_user=cast.approver, unit=cast.commune)
    actions.do_push_command([device], type="stop", body={}, acting_user=cast.approver, unit=cast.commune)

    response = client.get(f"{BASE}/events", HTTP_LAST_EVENT_ID=str(first.id - 1), **bearer(token))
    chunks = iter(response.streaming_content)
    assert next(chunks).startswith(b": connected")
    frames = [parse_frames(next(chunks).decode())[0] for _ in range(2)]

    payloads = [open_event(f["data"], public_key) for f in frames]
    assert [(p["type"], p["device"]) for p in payloads] == [("volume", "*"), ("stop", device.code)]
    assert payloads[0]["volume"] == 30


def test_device_api_documents_itself(client, db):
    schema = client.get(f"{BASE}/openapi.json").json()
    assert set(schema["paths"]) == {
        f"{BASE}/{p}" for p in ("enrol", "manifest", "media/{sha256}", "events", "alerts", "reports")
    }
    assert client.get(f"{BASE}/docs").status_code == 200


def test_an_inactive_device_is_refused(enrolled, client):
    device, token, _key = enrolled
    Device.objects.filter(pk=device.pk).update(is_active=False)
    assert client.get(f"{BASE}/manifest", **bearer(token)).status_code == 401


def test_errors_are_in_vietnamese_whatever_the_request_asks(db):
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(f"{BASE}/manifest")
    assert response.json()["error"]["message"] == "Mã truy cập của thiết bị bị thiếu, sai hoặc đã bị thu hồi."
