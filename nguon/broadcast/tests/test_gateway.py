"""The device protocol through the real ASGI stack: a uvicorn process serving nguon.config.asgi on 127.0.0.1.

The server runs in its own process against this test run's database (a file for SQLite, the test database for
PostgreSQL), so the tests use transactional_db: what they write is committed and the server sees it.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import schemathesis
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as fuzz_settings

from nguon.broadcast import actions, fastpath, reports
from nguon.broadcast.keys import signer
from nguon.broadcast.models import Device, DeviceStatusChange, Heartbeat, PushEvent
from nguon.broadcast.tests.device_helpers import (
    batch_body,
    enrolment_code,
    heartbeat,
    make_device,
    make_image,
    open_event,
    parse_frames,
    save_slot,
    slot_data,
)
from nguon.lib.signing import verify

BASE = "/device/v1"
PROJECT_DIR = Path(__file__).resolve().parents[3]


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Server:
    """A uvicorn process on a socket this test opened (127.0.0.1, a free port chosen by the kernel)."""

    def __init__(self, port: int = 0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))  # a given port: the same server again after an outage
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        signer()  # create the signing key before the server reads it from the same data directory
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "nguon.config.settings",
            "NGUON_DATA_DIR": str(settings.DATA_DIR),  # the key, the media files: the same as this process's
            "NGUON_DATABASE_URL": _database_url(),
            "NGUON_DEBUG": "false",
        }
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "nguon.config.asgi:application",
            "--fd",
            str(self.sock.fileno()),
            "--http",
            fastpath.PROTOCOL,
            "--lifespan",
            "on",
            "--log-level",
            "warning",
            "--no-access-log",
            "--timeout-graceful-shutdown",
            "2",
        ]
        self.process = subprocess.Popen(command, env=env, cwd=PROJECT_DIR, pass_fds=[self.sock.fileno()])
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.request("GET", f"{BASE}/openapi.json")[0] == 200:
                    break
            except OSError:
                pass
            assert self.process.poll() is None, "the server exited at start-up"
            assert time.monotonic() < deadline, "the server did not start within 60 s"
            time.sleep(0.1)

    def connect(self, timeout: float = 10) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        """(status, headers, body) of one request on a new connection."""
        conn = self.connect()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()  # open event streams keep uvicorn waiting; nothing is left to flush by then
            self.process.wait(timeout=10)
        self.sock.close()


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        running = Server()
    try:
        yield running
    finally:
        running.stop()


class Events:
    """An open event stream, read line by line with a deadline."""

    def __init__(self, server: Server, token: str, last_event_id: int | None = None):
        self.conn = server.connect(timeout=10)
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.conn.request("GET", f"{BASE}/events", headers=headers)
        self.response = self.conn.getresponse()

    def next_frame(self) -> dict | None:
        """The next event (comments skipped), or None when the server ends the stream."""
        lines = []
        while True:
            line = self.response.readline().decode()
            if not line:
                return None
            if line == "\n":
                frames = parse_frames("".join(lines))
                if frames:
                    return frames[0]
                lines = []
            else:
                lines.append(line)

    def close(self) -> None:
        self.conn.close()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def enrol(server: Server, cast, device: Device) -> tuple[str, str]:
    body = json.dumps({"code": enrolment_code(cast, device)}).encode()
    status, _headers, answer = server.request("POST", f"{BASE}/enrol", body, {"Content-Type": "application/json"})
    assert status == 200, answer
    data = json.loads(answer)
    return data["token"], data["public_key"]


def until(predicate, seconds: float = 5.0, step: float = 0.02):
    """Poll `predicate` (another process must act) until it returns something true or the deadline passes."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


@pytest.fixture
def device(cast, transactional_db):
    return make_device(cast, "GW-001")


def test_manifest_on_the_fast_path_is_signed_and_revalidates(server, cast, device):
    token, public_key = enrol(server, cast, device)
    assert public_key == signer().public_key_b64

    status, headers, body = server.request("GET", f"{BASE}/manifest", headers=bearer(token))
    assert status == 200
    assert verify(public_key, body, headers["X-Nguon-Signature"])
    assert json.loads(body)["device"]["code"] == "GW-001"
    assert headers["X-Nguon-Manifest-Version"] == str(json.loads(body)["version"])
    assert headers["Date"]
    assert abs(datetime.fromisoformat(headers["X-Server-Time"]) - timezone.now()) < timedelta(seconds=5)

    status, headers304, body304 = server.request(
        "GET", f"{BASE}/manifest", headers={**bearer(token), "If-None-Match": headers["ETag"]}
    )
    assert status == 304
    assert body304 == b""
    assert headers304["ETag"] == headers["ETag"]
    assert "X-Server-Time" in headers304
    # Answered by the gateway: Django's middleware would have added its security headers.
    assert "X-Frame-Options" not in headers304


def test_wrong_token_is_refused_and_revocation_reaches_the_fast_path_within_a_second(server, cast, device):
    token, _key = enrol(server, cast, device)
    assert server.request("GET", f"{BASE}/manifest", headers=bearer(token))[0] == 200
    for headers in ({}, bearer("nd1_not-a-token"), {"Authorization": "Token abc"}):
        status, answer_headers, body = server.request("GET", f"{BASE}/manifest", headers=headers)
        assert status == 401
        assert json.loads(body)["error"]["code"] == "unauthenticated"
        assert answer_headers["WWW-Authenticate"] == "Bearer"
    stream = Events(server, token)

    actions.do_revoke_tokens(device, acting_user=cast.commune_admin)
    revoked_at = time.monotonic()

    refused = until(lambda: server.request("GET", f"{BASE}/manifest", headers=bearer(token))[0] == 401, 1.0)
    assert refused, "the revoked token still worked a second later"
    assert time.monotonic() - revoked_at < 1.0
    # Its open stream is closed (after any event that was already on its way, like the new device's manifest).
    assert any(stream.next_frame() is None for _ in range(5))
    stream.close()
    assert server.request("POST", f"{BASE}/reports", batch_body(), bearer(token))[0] == 401


def test_media_by_hash_with_ranges_and_only_what_the_manifest_names(server, cast, device):
    token, _key = enrol(server, cast, device)
    asset, other = make_image(cast, seed=11), make_image(cast, seed=12)
    save_slot(cast, slot_data(media=asset))
    data = Path(asset.file.path).read_bytes()
    url = f"{BASE}/media/{asset.sha256}"

    status, headers, body = server.request("GET", url, headers=bearer(token))
    assert status == 200
    assert body == data
    assert headers["Content-Length"] == str(len(data))
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert headers["ETag"] == f'"{asset.sha256}"'

    status, headers, body = server.request("GET", url, headers={**bearer(token), "Range": "bytes=1000-"})
    assert status == 206
    assert body == data[1000:]
    assert headers["Content-Range"] == f"bytes 1000-{len(data) - 1}/{len(data)}"

    status, _headers, _body = server.request("GET", url, headers={**bearer(token), "Range": "bytes=999999999-"})
    assert status == 416

    for missing in (other.sha256, "b" * 64, "xyz"):
        status, _headers, body = server.request("GET", f"{BASE}/media/{missing}", headers=bearer(token))
        assert status == 404
        assert json.loads(body)["error"]["code"] == "not_found"


def post(server, token, body: bytes):
    status, headers, answer = server.request(
        "POST", f"{BASE}/reports", body, {**bearer(token), "Content-Type": "application/json"}
    )
    return status, headers, json.loads(answer)


def test_report_batches_are_stored_once_and_checked_record_by_record(server, cast, device):
    token, _key = enrol(server, cast, device)
    now = timezone.now()
    records = [heartbeat(n, now - timedelta(seconds=n)) for n in range(1, 6)]

    status, _headers, first = post(server, token, batch_body(*records))
    assert status == 200
    assert (first["stored"], first["duplicates"]) == (5, 0)
    # Acknowledged means committed: the rows are there as soon as the answer is.
    assert Heartbeat.objects.filter(device=device).count() == 5

    _status, _headers, again = post(server, token, batch_body(*records))
    assert (again["stored"], again["duplicates"]) == (0, 5)

    _status, _headers, reordered = post(
        server, token, batch_body(heartbeat(7, now), *reversed(records), heartbeat(6, now))
    )
    assert (reordered["stored"], reordered["duplicates"]) == (2, 5)

    _status, _headers, checked = post(
        server,
        token,
        batch_body(
            heartbeat(8, now + timedelta(minutes=10)), heartbeat(9, now - timedelta(days=40)), heartbeat(10, now)
        ),
    )
    assert checked["stored"] == 1
    assert checked["rejected"] == [{"seq": 8, "reason": "in_future"}, {"seq": 9, "reason": "too_old"}]

    assert sorted(Heartbeat.objects.filter(device=device).values_list("seq", flat=True)) == [1, 2, 3, 4, 5, 6, 7, 10]
    device.refresh_from_db()
    assert device.is_online and device.report_seq == 10 and device.clock_skew_ms == -120
    assert DeviceStatusChange.objects.filter(device=device, online=True).count() == 1

    status, _headers, refused = post(server, token, b'{"records": "no"}')
    assert (status, refused["error"]["code"]) == (400, "invalid_batch")
    big = batch_body(*(heartbeat(n, now, current_item="x" * 1200) for n in range(100, 1099)))
    status, _headers, refused = post(server, token, big)
    assert (status, refused["error"]["code"]) == (413, "too_large")


def test_a_flooding_device_gets_429_with_retry_after(server, cast, device):
    token, _key = enrol(server, cast, device)
    statuses = []
    for _ in range(reports.REPORTS_PER_MINUTE + 1):
        status, headers, body = post(server, token, batch_body())
        statuses.append(status)
    assert statuses[:-1] == [200] * reports.REPORTS_PER_MINUTE
    assert statuses[-1] == 429
    assert body["error"]["code"] == "rate_limited"
    assert 1 <= int(headers["Retry-After"]) <= 60


def test_event_stream_gets_a_signed_manifest_event_after_a_slot_change(server, cast, device):
    token, public_key = enrol(server, cast, device)
    _status, headers, _body = server.request("GET", f"{BASE}/manifest", headers=bearer(token))
    stream = Events(server, token)
    assert stream.response.status == 200
    assert stream.response.headers["Content-Type"] == "text/event-stream"

    slot = save_slot(cast, slot_data())  # committed; the worker (inline here) recompiles and writes the event

    event = PushEvent.objects.filter(type="manifest").latest("id")
    # The event of the device's creation may come first: the stream opened before the gateway read it.
    frame = next(f for f in iter(stream.next_frame, None) if int(f["id"]) >= event.id)
    assert frame["event"] == "manifest"
    assert frame["id"] == str(event.id)
    payload = open_event(frame["data"], public_key)
    assert (payload["type"], payload["id"], payload["device"]) == ("manifest", event.id, "GW-001")
    # Revision 1.3 (§4.4): the event carries the device's new manifest, signed as a fetch gives it.
    etag, encoded, signature = frame["manifest"].split(" ")
    inline = base64.urlsafe_b64decode(encoded)
    assert verify(public_key, inline, signature)

    # The gateway refreshed its cached manifest before telling the device: the fetch gets the new one.
    status, new_headers, body = server.request(
        "GET", f"{BASE}/manifest", headers={**bearer(token), "If-None-Match": headers["ETag"]}
    )
    assert status == 200
    assert new_headers["ETag"] != headers["ETag"]
    assert [s["slot"] for s in json.loads(body)["slots"]][:1] == [slot.pk]
    assert (inline, etag, signature) == (body, new_headers["ETag"], new_headers["X-Nguon-Signature"])
    stream.close()

    # A device reconnecting with Last-Event-ID gets what it missed.
    actions.do_push_command([device], type="volume", body={"volume": 35}, acting_user=cast.approver, unit=cast.commune)
    replay = Events(server, token, last_event_id=event.id)
    frame = replay.next_frame()
    replay.close()
    assert frame["event"] == "volume"
    assert open_event(frame["data"], public_key)["volume"] == 35


def test_other_paths_fall_through_to_django(server, transactional_db):
    status, headers, body = server.request("GET", f"{BASE}/openapi.json")
    assert status == 200
    assert f"{BASE}/reports" in json.loads(body)["paths"]
    status, headers, _body = server.request("GET", f"{BASE}/docs")
    assert status == 200
    assert headers["X-Frame-Options"] == "DENY"


def test_batches_posted_together_are_each_committed_before_their_answer(server, cast, device):
    from concurrent.futures import ThreadPoolExecutor

    devices = [device, *(make_device(cast, f"GW-{n:03d}") for n in range(2, 13))]
    # Enrolled through the action: the HTTP enrolments of this module stay under the per-address limit.
    tokens = [actions.do_enrol(enrolment_code(cast, d))[1] for d in devices]
    now = timezone.now()
    body = batch_body(*(heartbeat(n, now - timedelta(seconds=n)) for n in range(1, 51)))

    def send(token):
        try:
            status, _headers, answer = post(server, token, body)
            # Counted right when the answer arrives: acknowledged means committed.
            mine = Heartbeat.objects.filter(device__tokens__token_hash=actions.token_hash(token))
            return status, answer["stored"], mine.count()
        finally:
            connections.close_all()  # this thread's connection: PostgreSQL cannot drop a database still in use

    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        results = list(pool.map(send, tokens))

    assert results == [(200, 50, 50)] * len(tokens)
    assert Heartbeat.objects.count() == 50 * len(tokens)


# Last in this module: it spends the server's enrolment allowance for this address (10 a minute).
@pytest.mark.timeout(120)
def test_fuzzing_the_device_api_finds_no_server_error(server, cast, device):
    token, _key = enrol(server, cast, device)
    save_slot(cast, slot_data(media=make_image(cast, seed=21)))
    schema = schemathesis.openapi.from_url(f"{server.base_url}{BASE}/openapi.json")
    # The event stream never ends by design (its own tests read it); everything else answers and closes.
    schema = schema.exclude(path_regex="/events$")
    server_errors = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 6  # HEAD on media is one of them

    for operation in operations:

        @given(case=operation.as_strategy())
        @fuzz_settings(
            max_examples=40,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def call(case):
            response = case.call(base_url=server.base_url, headers=bearer(token), timeout=10)
            if response.status_code >= 500:
                server_errors.append((case.method, case.formatted_path, case.body, response.status_code))

        call()

    assert server_errors == []
    assert server.process.poll() is None
