"""The shipped nginx configuration (deploy/nginx/nguon.conf.in, rendered by scripts/nginx.sh) in front of a real app
server: TLS with a certificate made here, device media sent by nginx after the gateway authorised it
(X-Accel-Redirect), Range and HEAD, unbuffered event streams, and a real agent that enrols and plays through it.

nginx is Debian's (`apt-get install nginx`, in scripts/system-packages.sh's test set); without it the test is skipped.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
from datetime import time as clock_time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.utils import timezone

from nguon.broadcast.actions import SlotData
from nguon.broadcast.keys import signer
from nguon.broadcast.models import Heartbeat, PlayRecord
from nguon.broadcast.protocol import BASE
from nguon.broadcast.tests.agent_process import AGENT_DIR, start_agent, stop_agent
from nguon.broadcast.tests.device_helpers import enrolment_code, iso, make_device, make_image, save_slot
from nguon.broadcast.tests.test_gateway import _database_url, until
from nguon.conftest import PASSWORD

PROJECT_DIR = Path(settings.PROJECT_DIR)
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
ACCEL = "/_protected_media/"

pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (Debian: apt-get install nginx; scripts/system-packages.sh test)"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Nginx:
    """Debian's nginx in the foreground with the shipped site file, rendered for this test (ports, paths, TLS)."""

    def __init__(self, root: Path, upstreams: list[int]):
        self.root = root
        self.https_port, self.http_port = _free_port(), _free_port()
        tls = root / "tls"
        subprocess.run([PROJECT_DIR / "scripts" / "nginx.sh", "cert", tls], check=True, capture_output=True)
        self.ca_file = tls / "fullchain.pem"
        (root / "temp").mkdir()
        env = {
            **os.environ,
            "NGUON_NGINX_SERVER_NAME": "localhost",
            "NGUON_NGINX_UPSTREAMS": " ".join(f"127.0.0.1:{port}" for port in upstreams),
            "NGUON_NGINX_HTTP_PORT": str(self.http_port),
            "NGUON_NGINX_HTTPS_PORT": str(self.https_port),
            "NGUON_NGINX_CERT": str(self.ca_file),
            "NGUON_NGINX_KEY": str(tls / "privkey.pem"),
            "NGUON_NGINX_TEMP_DIR": str(root / "temp"),
            "NGUON_NGINX_ACME_ROOT": str(root / "acme"),
            "NGUON_DATA_DIR": str(settings.DATA_DIR),
            "NGUON_MEDIA_ACCEL_REDIRECT": ACCEL,
        }
        site = root / "nguon.conf"
        subprocess.run([PROJECT_DIR / "scripts" / "nginx.sh", "config", site], env=env, check=True)
        # The main file Debian's /etc/nginx/nginx.conf would be, reduced to what a test needs. As root, the workers
        # stay root: the test's data directory is private to this account.
        user = "user root root;\n" if os.geteuid() == 0 else ""
        main = root / "nginx.conf"
        main.write_text(
            f"{user}worker_processes 1;\npid {root}/nginx.pid;\nerror_log {root}/error.log warn;\n"
            "events { worker_connections 256; }\n"
            f"http {{\n  include /etc/nginx/mime.types;\n  default_type application/octet-stream;\n"
            f"  access_log {root}/access.log;\n  include {site};\n}}\n"
        )
        check = subprocess.run([NGINX, "-t", "-p", root, "-c", main], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.process = subprocess.Popen([NGINX, "-p", root, "-c", main, "-g", "daemon off;"])
        self.base_url = f"https://localhost:{self.https_port}"
        assert until(self._listening, 10), "nginx did not start: " + self.log()

    def _listening(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.https_port), timeout=1).close()
        except OSError:
            return False
        return True

    def log(self) -> str:
        path = self.root / "error.log"
        return path.read_text() if path.exists() else ""

    def connect(self) -> http.client.HTTPSConnection:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        return http.client.HTTPSConnection("localhost", self.https_port, context=context, timeout=10)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        conn = self.connect()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGQUIT)  # graceful: finish what is being sent
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


class Serve:
    """`nguon serve` as the systemd units run it, on a port of its own, with `--gateways N` processes."""

    def __init__(self, gateways: int):
        self.port = _free_port()
        signer()  # create the signing key before the servers read it from the same data directory
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "nguon.config.settings",
            "NGUON_DATA_DIR": str(settings.DATA_DIR),
            "NGUON_DATABASE_URL": _database_url(),
            "NGUON_DEBUG": "false",
            "NGUON_MEDIA_ACCEL_REDIRECT": ACCEL,
        }
        command = [sys.executable, "-m", "nguon", "serve", "--port", str(self.port), "--gateways", str(gateways)]
        self.process = subprocess.Popen(command, env=env, cwd=PROJECT_DIR, stdout=subprocess.DEVNULL)
        assert until(self._ready, 60, 0.1), "nguon serve did not start within 60 s"

    def _ready(self) -> bool:
        assert self.process.poll() is None, "nguon serve exited at start-up"
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            conn.request("GET", f"{BASE}/openapi.json")
            return conn.getresponse().status == 200
        except OSError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def behind_nginx(django_db_setup, django_db_blocker, tmp_path_factory):
    """Both upstream shapes at once: one port served by two gateway processes, and a second port with one."""
    servers = []
    proxy = None
    try:
        with django_db_blocker.unblock():
            servers += [Serve(gateways=2), Serve(gateways=1)]
        proxy = Nginx(tmp_path_factory.mktemp("nginx"), [s.port for s in servers])
        yield proxy, servers
    finally:
        if proxy is not None:
            print(proxy.log())  # shown when a test fails
            proxy.stop()
        for server in servers:
            server.stop()


def _enrol(proxy: Nginx, cast, device) -> str:
    body = json.dumps({"code": enrolment_code(cast, device)}).encode()
    status, _headers, answer = proxy.request("POST", f"{BASE}/enrol", body, {"Content-Type": "application/json"})
    assert status == 200, answer
    return json.loads(answer)["token"]


def test_media_through_nginx_after_the_gateway_authorised_it(behind_nginx, cast, transactional_db):
    proxy, _servers = behind_nginx
    device = make_device(cast, "NGX-001")
    image = make_image(cast, seed=41)
    stranger = make_image(cast, seed=43)  # stored, but not in this device's manifest
    today = timezone.localdate()
    save_slot(
        cast,
        SlotData(
            name="Qua nginx",
            start_time=clock_time(0, 0),
            end_time=clock_time(23, 59),
            start_date=today,
            items=[{"kind": "media", "media": image}],
        ),
    )
    token = _enrol(proxy, cast, device)
    auth = {"Authorization": f"Bearer {token}"}
    data = Path(settings.MEDIA_ROOT, image.file.name).read_bytes()

    status, headers, body = proxy.request("GET", f"{BASE}/manifest", headers=auth)
    assert status == 200, body
    assert image.sha256.encode() in body

    status, headers, body = proxy.request("GET", f"{BASE}/media/{image.sha256}", headers=auth)
    assert status == 200, body
    assert hashlib.sha256(body).hexdigest() == image.sha256
    assert headers["ETag"] == f'"{image.sha256}"'
    assert headers["Content-Type"] == "image/png"
    assert headers.get_all("Cache-Control") == ["public, max-age=31536000, immutable"]  # once, not twice
    assert headers.get_all("Accept-Ranges") == ["bytes"]
    assert headers["X-Server-Time"].endswith("Z")  # protocol §1: on every answer, nginx's included
    assert "X-Accel-Redirect" not in headers

    ranged = {**auth, "Range": "bytes=100-1099"}
    status, headers, body = proxy.request("GET", f"{BASE}/media/{image.sha256}", headers=ranged)
    assert status == 206
    assert headers["Content-Range"] == f"bytes 100-1099/{len(data)}"
    assert body == data[100:1100]

    status, headers, body = proxy.request("HEAD", f"{BASE}/media/{image.sha256}", headers=auth)
    assert (status, body) == (200, b"")
    assert int(headers["Content-Length"]) == len(data)

    status, _headers, _body = proxy.request(
        "GET", f"{BASE}/media/{image.sha256}", headers={**auth, "If-None-Match": f'"{image.sha256}"'}
    )
    assert status == 304

    # Not authorised: no token, or a file the manifest does not name; and the internal location is not reachable.
    assert proxy.request("GET", f"{BASE}/media/{image.sha256}")[0] == 401
    assert proxy.request("GET", f"{BASE}/media/{stranger.sha256}", headers=auth)[0] == 404
    assert proxy.request("GET", f"{ACCEL}{image.file.name}")[0] == 404

    # Plain HTTP only redirects to HTTPS.
    conn = http.client.HTTPConnection("127.0.0.1", proxy.http_port, timeout=10)
    conn.request("GET", f"{BASE}/manifest", headers={"Host": "localhost"})
    response = conn.getresponse()
    assert response.status == 301
    assert response.headers["Location"] == f"https://localhost:{proxy.https_port}{BASE}/manifest"
    conn.close()

    # The event stream is passed on at once, not buffered.
    conn = proxy.connect()
    conn.request("GET", f"{BASE}/events", headers=auth)
    response = conn.getresponse()
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.read1(64).startswith(b": connected")
    conn.close()


@pytest.mark.skipif(not (AGENT_DIR / "nguon_agent").is_dir(), reason="agent/ is not in this checkout")
def test_an_agent_enrols_downloads_and_plays_through_nginx(behind_nginx, cast, transactional_db, tmp_path):
    proxy, _servers = behind_nginx
    device = make_device(cast, "NGX-002")
    code = enrolment_code(cast, device)
    image = make_image(cast, seed=47)
    now = timezone.localtime()
    start = (now + timedelta(minutes=2)).replace(second=0, microsecond=0)
    if start.date() != now.date() or start.time() >= clock_time(23, 58):
        pytest.skip("too close to local midnight for a one-minute slot today")
    slot = save_slot(
        cast,
        SlotData(
            name="Phát qua nginx",
            start_time=start.time(),
            end_time=(start + timedelta(minutes=1)).time(),
            start_date=start.date(),
            items=[{"kind": "media", "media": image}],
        ),
    )
    state = tmp_path / "agent"
    proc = start_agent(
        proxy.base_url, state, "--ca-file", str(proxy.ca_file), "--on-reboot", "exit", "--code", code,
        "--start-at", iso(start - timedelta(seconds=5)), "--time-scale", "3",
    )  # fmt: skip
    output = ""
    try:
        assert until(lambda: Heartbeat.objects.filter(device=device).exists(), 30), "no heartbeat came through nginx"
        assert until(lambda: (state / "media" / image.sha256).exists(), 30), "the media file was not downloaded"
        played = until(
            lambda: PlayRecord.objects.filter(device=device, occurrence__startswith=f"{slot.pk}@").first(), 60
        )
        assert played, "the slot was not played and reported through nginx"
        assert (played.item, played.result) == (image.sha256, "played")
    finally:
        output = stop_agent(proc)
        print(output)
    downloaded = (state / "media" / image.sha256).read_bytes()
    assert hashlib.sha256(downloaded).hexdigest() == image.sha256
    assert f"{BASE}/media/{image.sha256}" in (proxy.root / "access.log").read_text()
    assert json.loads((state / "credentials.json").read_text())["server"].startswith("https://localhost:")


def test_the_back_office_login_works_over_https_through_nginx(behind_nginx, cast, transactional_db):
    """Django sees https and the client's address through the proxy headers: the login form's CSRF check (which
    compares the browser's Origin with the request's scheme and host) passes."""
    proxy, _servers = behind_nginx
    user = cast.commune_editor
    # The servers use the production hashers, not the tests' fast one.
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    user.save(update_fields=["password"])
    conn = proxy.connect()
    conn.request("GET", "/accounts/login/")
    response = conn.getresponse()
    page = response.read().decode()
    assert response.status == 200
    cookie = response.headers["Set-Cookie"].split(";")[0]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    origin = f"https://localhost:{proxy.https_port}"
    form = urlencode({"csrfmiddlewaretoken": token, "username": user.username, "password": PASSWORD})
    conn.request(
        "POST",
        "/accounts/login/",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie, "Origin": origin,
                 "Referer": f"{origin}/accounts/login/"},
    )  # fmt: skip
    response = conn.getresponse()
    response.read()
    conn.close()
    assert response.status == 302, response.status
