"""Live broadcasts through Icecast, and checking that relay and live streams answer (loopback only)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from nguon.broadcast.actions import GroupData, do_save_group
from nguon.broadcast.live import check_stream, do_start_live
from nguon.broadcast.models import DeviceKind, LiveBroadcast, PushEvent
from nguon.broadcast.tests.schedule_helpers import device, messages_of, operator
from nguon.core.errors import Conflict

SCRIPT = Path(django_settings.PROJECT_DIR) / "scripts" / "icecast.sh"


class StreamHandler(BaseHTTPRequestHandler):
    """/ok.mp3 audio; /icecast.mp3 audio but HEAD refused (as Icecast does); /page HTML; /slow never answers."""

    def log_message(self, *args):
        pass

    def _answer(self, with_body: bool):
        if self.path == "/slow":
            self.server.release.wait(5)
            return
        if self.path == "/icecast.mp3" and self.command == "HEAD":
            self.send_response(400)
            self.end_headers()
            return
        kinds = {"/ok.mp3": "audio/mpeg", "/icecast.mp3": "audio/mpeg", "/page": "text/html; charset=utf-8"}
        if self.path not in kinds:
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            return
        body = b"\xff\xfb" + b"\x00" * 4096
        self.send_response(200)
        self.send_header("Content-Type", kinds[self.path])
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_HEAD(self):  # noqa: N802
        self._answer(False)

    def do_GET(self):  # noqa: N802
        self._answer(True)


@pytest.fixture
def stream_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), StreamHandler)
    server.daemon_threads = True
    server.release = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.release.set()
    server.shutdown()
    server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def allow(settings, url: str) -> None:
    """Allow the stream check to reach this loopback server (NGUON_STREAM_ALLOW), as for an in-house server."""
    settings.STREAM_ALLOW = [*settings.STREAM_ALLOW, url.split("//")[1].split("/")[0]]


def test_check_stream_tells_audio_from_pages_errors_and_silence(stream_server, settings):
    allow(settings, stream_server)
    assert check_stream(f"{stream_server}/ok.mp3", timeout=2).ok is True
    icecast_like = check_stream(f"{stream_server}/icecast.mp3", timeout=2)
    assert (icecast_like.ok, icecast_like.content_type) == (True, "audio/mpeg")  # HEAD refused, GET plays
    page = check_stream(f"{stream_server}/page", timeout=2)
    assert page.ok is False and "text/html" not in page.reason  # nothing the server sent is repeated
    missing = check_stream(f"{stream_server}/missing.mp3", timeout=2)
    assert (missing.ok, missing.status) == (False, 404)
    closed_url = f"http://127.0.0.1:{free_port()}/vov1.mp3"
    allow(settings, closed_url)
    closed = check_stream(closed_url, timeout=2)
    assert closed.ok is False and closed.reason
    started = time.monotonic()
    slow = check_stream(f"{stream_server}/slow", timeout=0.3)
    assert slow.ok is False and time.monotonic() - started < 2  # bounded by the timeout
    assert check_stream("ftp://127.0.0.1/vov1.mp3", timeout=1).ok is False
    assert check_stream(f"{stream_server}/ok.mp3", timeout=0).ok is None  # checking switched off


def test_saving_a_relay_that_answers_gives_no_warning(cast, client_for, stream_server, settings):
    from nguon.broadcast.tests.schedule_helpers import slot_form, stamp_of

    allow(settings, stream_server)

    op = operator(cast.commune)
    client = client_for(op)
    stamp = stamp_of(client.get("/schedules/26068/new/"))
    items = [{"stream_url": f"{stream_server}/ok.mp3", "stream_name": "VOV1"}]
    response = client.post("/schedules/26068/new/", slot_form(stamp, items=items), follow=True)
    assert response.status_code == 200
    assert not [m for m in messages_of(response) if "VOV1" in m]


@pytest.fixture
def live_setup(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        speakers = [device(cast.commune, "BH-001"), device(cast.commune, "BH-002")]
        board = device(cast.commune, "BH-B01", kind=DeviceKind.BOARD)
        other = device(cast.other_commune, "TB-001")
        group = do_save_group(
            None, unit=cast.commune, data=GroupData(name="Khu chợ", devices=speakers), acting_user=None
        )
    return {"speakers": speakers, "board": board, "other": other, "group": group}


def until_text(minutes: int) -> str:
    return timezone.localtime(timezone.now() + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M")


def test_operator_starts_and_stops_a_live_broadcast(cast, live_setup, client_for, settings):
    settings.ICECAST_URL = "http://127.0.0.1:8001"
    settings.STREAM_CHECK_SECONDS = 0
    op = operator(cast.commune)
    client = client_for(op)
    page = client.get("/schedules/26068/live/")
    assert page.status_code == 200 and "truc-tiep.mp3" in page.content.decode()
    response = client.post(
        "/schedules/26068/live/",
        {
            "mount": "hop-dan.mp3",
            "title": "Họp dân trực tiếp",
            "until": until_text(45),
            "groups": [live_setup["group"].pk],
            "devices": [live_setup["board"].pk],
        },
    )
    assert response.status_code == 302
    broadcast = LiveBroadcast.objects.get()
    expected = {d.pk for d in live_setup["speakers"]} | {live_setup["board"].pk}
    assert set(broadcast.devices.values_list("pk", flat=True)) == expected
    event = PushEvent.objects.get(type="live")
    assert set(event.device_ids) == expected
    assert event.body["url"] == "http://127.0.0.1:8001/hop-dan.mp3"
    assert event.body["title"] == "Họp dân trực tiếp" and event.body["until"].endswith("Z")
    assert event.expires_at >= broadcast.until - timedelta(seconds=1)
    assert (broadcast.started_by, broadcast.start_event) == (op, event)
    history = client.get("/schedules/26068/live/").content.decode()
    assert "Họp dân trực tiếp" in history and "hop-dan.mp3" in history
    # The same devices cannot be in two live broadcasts at once.
    with pytest.raises(Conflict):
        do_start_live(
            unit=cast.commune,
            mount="khac.mp3",
            title="Khác",
            until=broadcast.until,
            devices=live_setup["speakers"][:1],
            acting_user=op,
        )
    stopped = client.post(f"/schedules/live/{broadcast.pk}/stop/", follow=True)
    assert stopped.status_code == 200
    broadcast.refresh_from_db()
    assert broadcast.stopped_by == op and broadcast.stopped_at is not None
    stop = PushEvent.objects.get(type="live_stop")
    assert set(stop.device_ids) == expected and broadcast.stop_event == stop
    again = client.post(f"/schedules/live/{broadcast.pk}/stop/", follow=True)
    assert PushEvent.objects.filter(type="live_stop").count() == 1
    assert messages_of(again)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"mount": "../../admin"}, "mount"),
        ({"until": "2020-01-01T08:00"}, "until"),
        ({"groups": [], "devices": []}, "devices"),
        ({"title": ""}, "title"),
    ],
)
def test_bad_live_input_sends_nothing(cast, live_setup, client_for, settings, fields, error):
    settings.STREAM_CHECK_SECONDS = 0
    client = client_for(operator(cast.commune))
    data = {
        "mount": "truc-tiep.mp3",
        "title": "Trực tiếp",
        "until": until_text(30),
        "devices": [live_setup["speakers"][0].pk],
        **fields,
    }
    response = client.post("/schedules/26068/live/", data)
    assert response.status_code == 400
    assert response.context["form"].errors.get(error)
    assert not PushEvent.objects.filter(type="live").exists() and not LiveBroadcast.objects.exists()


def test_live_broadcasts_stay_within_the_operators_commune(cast, live_setup, client_for, settings):
    settings.STREAM_CHECK_SECONDS = 0
    client = client_for(operator(cast.commune))
    # A device of another commune cannot be chosen.
    response = client.post(
        "/schedules/26068/live/",
        {"mount": "a.mp3", "title": "A", "until": until_text(30), "devices": [live_setup["other"].pk]},
    )
    assert response.status_code == 400 and not PushEvent.objects.filter(type="live").exists()
    assert client.get("/schedules/26041/live/").status_code == 404
    assert client_for(cast.commune_editor).get("/schedules/26068/live/").status_code == 403
    other_op = operator(cast.other_commune)
    broadcast = do_start_live(
        unit=cast.other_commune,
        mount="tb.mp3",
        title="Trấn Biên",
        acting_user=other_op,
        until=timezone.now() + timedelta(minutes=20),
        devices=[live_setup["other"]],
    )
    assert client.post(f"/schedules/live/{broadcast.pk}/stop/").status_code == 404
    assert LiveBroadcast.objects.on_air().count() == 1


def test_icecast_script_refuses_the_application_port(tmp_path):
    env = {**os.environ, "NGUON_DATA_DIR": str(tmp_path), "NGUON_ICECAST_PORT": "8000"}
    result = subprocess.run([str(SCRIPT), "config"], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1 and "8000" in result.stderr


def test_icecast_default_port_is_not_the_applications():
    assert django_settings.ICECAST_URL.endswith(":8001") or os.environ.get("NGUON_ICECAST_URL")


@pytest.mark.skipif(not shutil.which("icecast2"), reason="icecast2 is not installed (scripts/system-packages.sh)")
@pytest.mark.skipif(not shutil.which("ffmpeg"), reason="ffmpeg is not installed")
def test_a_real_icecast_stream_is_seen_by_the_check(settings):
    # Its own data directory, which the account icecast2 drops to (when started as root) may pass through.
    data_dir = Path(tempfile.mkdtemp(prefix="nguon-icecast-"))
    data_dir.chmod(0o711)
    port = free_port()
    password = "test-source-password"
    env = {
        **os.environ,
        "NGUON_DATA_DIR": str(data_dir),
        "NGUON_ICECAST_PORT": str(port),
        "NGUON_ICECAST_SOURCE_PASSWORD": password,
    }
    mount = f"http://127.0.0.1:{port}/test.mp3"
    settings.ICECAST_URL = f"http://127.0.0.1:{port}"  # our own Icecast is always allowed, and only its port
    started = subprocess.run([str(SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=60)
    assert started.returncode == 0, started.stderr
    source = None
    try:
        again = subprocess.run([str(SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=60)
        assert again.returncode == 0 and "already" in again.stdout  # idempotent
        config = (data_dir / "icecast" / "icecast.xml").read_text()
        assert f"<port>{port}</port>" in config and password in config
        assert (data_dir / "icecast" / "icecast.xml").stat().st_mode & 0o077 == 0  # passwords: owner only
        assert check_stream(mount, timeout=2).ok is False  # nothing sent to the mount yet
        source = subprocess.Popen(
            [
                "ffmpeg",
                "-hide_banner",
                "-loglevel",
                "error",
                "-re",
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440",
                "-t",
                "20",
                "-c:a",
                "libmp3lame",
                "-f",
                "mp3",
                f"icecast://source:{password}@127.0.0.1:{port}/test.mp3",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 15
        result = check_stream(mount, timeout=2)
        while result.ok is not True and time.monotonic() < deadline and source.poll() is None:
            time.sleep(0.2)  # the encoder needs a moment to connect
            result = check_stream(mount, timeout=2)
        assert result.ok is True, (result, source.poll())
        assert result.content_type == "audio/mpeg"
    finally:
        if source is not None:
            source.terminate()
            source.wait(timeout=10)
        stopped = subprocess.run([str(SCRIPT), "stop"], env=env, capture_output=True, text=True, timeout=60)
        shutil.rmtree(data_dir, ignore_errors=True)
    assert stopped.returncode == 0, stopped.stderr
    status = subprocess.run([str(SCRIPT), "status"], env=env, capture_output=True, text=True, timeout=30)
    assert status.returncode == 3
