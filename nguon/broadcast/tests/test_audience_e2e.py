"""A replayed event is refused (protocol §4.2), with real processes over loopback: the server under uvicorn, the
reference agent as a process, and between them a relaying proxy that plays the attacker. The proxy passes every
request on to the server, except the event stream: there it hands the agent frames captured from another device's
stream, signed by the real server, then one that was really meant for the agent."""

from __future__ import annotations

import http.client
import http.server
import json
import queue
import threading

import pytest

from nguon.broadcast import actions
from nguon.broadcast.audience import CODES_ONLY
from nguon.broadcast.models import DeviceLog, Heartbeat
from nguon.broadcast.tests.agent_process import AGENT_DIR, start_agent, stop_agent
from nguon.broadcast.tests.device_helpers import make_device, open_event
from nguon.broadcast.tests.test_agent_e2e import EXIT_REBOOT
from nguon.broadcast.tests.test_gateway import BASE, Events, enrol, until
from nguon.broadcast.tests.test_gateway import server as server  # noqa: F401 - the uvicorn fixture

pytestmark = pytest.mark.skipif(not (AGENT_DIR / "nguon_agent").is_dir(), reason="agent/ is not in this checkout")

_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class ReplayingProxy:
    """An HTTP relay to `upstream` on 127.0.0.1 whose event stream serves the frames put in `frames`."""

    def __init__(self, upstream_port: int):
        self.frames: queue.Queue[bytes] = queue.Queue()
        self.closing = threading.Event()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _relay(self):
                if self.command == "GET" and self.path == f"{BASE}/events":
                    return self._events()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=20)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP | {"host"}}
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    data = answer.read()
                finally:
                    upstream.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in _HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _events(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                self.wfile.write(b": connected\n\n")
                self.wfile.flush()
                self.close_connection = True
                while not proxy.closing.is_set():
                    try:
                        frame = proxy.frames.get(timeout=0.2)
                    except queue.Empty:
                        continue
                    self.wfile.write(frame)
                    self.wfile.flush()

            do_GET = do_POST = do_HEAD = _relay

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def capture(stream: Events, wanted: str) -> bytes:
    """The next `wanted` frame of an open stream, as raw SSE bytes."""
    while (frame := stream.next_frame()) is not None:
        if frame["event"] == wanted:
            return f"id: {frame['id']}\nevent: {frame['event']}\ndata: {frame['data']}\n\n".encode()
    raise AssertionError(f"the stream ended before a {wanted} event")


def test_the_agent_refuses_events_replayed_from_another_units_devices(server, cast, transactional_db, tmp_path):  # noqa: F811
    # Commune A's fleet (more than a handful, so its events name the commune), and device B in another commune.
    fleet = [make_device(cast, f"AUD-A{i}") for i in range(CODES_ONLY + 1)]
    target = actions.do_create_device(
        unit=cast.other_commune,
        data=actions.DeviceData(code="AUD-B", name="Cụm loa Trấn Biên"),
        acting_user=cast.province_admin,
    )
    token_a, public_key = enrol(server, cast, fleet[0])

    proxy = ReplayingProxy(server.port)
    state = tmp_path / "agent"
    code_b = actions.do_issue_enrolment_code(target, acting_user=cast.province_admin)
    proc = start_agent(proxy.url, state, "--on-reboot", "exit", "--code", code_b)
    output = ""
    try:
        credentials = state / "credentials.json"
        assert until(credentials.exists, 30), "the agent did not enrol through the proxy"
        token_b = json.loads(credentials.read_text())["token"]
        assert until(lambda: Heartbeat.objects.filter(device=target).exists(), 30), "no heartbeat through the proxy"

        # What an attacker captures from commune A's devices: a volume change and a reboot, signed for commune A.
        stream_a = Events(server, token_a)
        actions.do_push_command(fleet, type="volume", body={"volume": 35}, acting_user=cast.approver, unit=cast.commune)
        volume_a = capture(stream_a, "volume")
        actions.do_push_command(fleet, type="reboot", body={}, acting_user=cast.approver, unit=cast.commune)
        reboot_a = capture(stream_a, "reboot")
        stream_a.close()
        captured = open_event(volume_a.decode().split("data: ")[1].strip(), public_key)
        assert (captured["device"], captured["audience"]) == ("*", {"units": [cast.commune.code], "kinds": ["speaker"]})

        # And one command really meant for B, read from B's own stream on the real server.
        stream_b = Events(server, token_b)
        actions.do_push_command([target], type="reboot", body={}, acting_user=cast.approver, unit=cast.other_commune)
        reboot_b = capture(stream_b, "reboot")
        stream_b.close()

        for frame in (volume_a, reboot_a, reboot_b):
            proxy.frames.put(frame)
        assert until(lambda: proc.poll() is not None, 30), "the agent did not obey the reboot meant for it"
        assert proc.returncode == EXIT_REBOOT
        messages = list(DeviceLog.objects.filter(device=target).order_by("seq").values_list("message", flat=True))
        assert [m for m in messages if m in ("event_wrong_audience", "reboot")] == [
            "event_wrong_audience",
            "event_wrong_audience",
            "reboot",
        ]
        assert not Heartbeat.objects.filter(device=target, volume=35).exists()  # the replayed volume was not taken
    finally:
        output = stop_agent(proc)
        proxy.stop()
        print(output)  # shown when the test fails
