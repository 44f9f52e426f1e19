"""Several device gateways sharing one PostgreSQL database: three real uvicorn processes on loopback.

Gateway A listens alone on one port; gateways K and then B share another with SO_REUSEPORT, as `nguon serve
--reuse-port` does (on several machines a load balancer plays the kernel's part). Real agents (agent/nguon_agent)
hold their streams on A and on K. An alert approved once reaches the agents on both gateways (each gateway reads
the outbox, woken by NOTIFY) and every acknowledgement is stored once. An acknowledgement taken by one gateway is
known to the others: a device that acknowledged at A and opens a stream at K without Last-Event-ID is not replayed
the alert. Then K freezes and is killed in the middle of a second alert: its agent reconnects to the same port,
now served by B, gets the sticky alert there and acknowledges it; nothing is lost.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from nguon.alerts import actions as alert_actions
from nguon.alerts.models import AlertDispatch, AlertReceipt, DispatchState
from nguon.alerts.tests.helpers import make_alert
from nguon.alerts.tests.test_gateway_alerts import ack
from nguon.broadcast import actions, fastpath
from nguon.broadcast.keys import signer
from nguon.broadcast.tests.agent_process import AGENT_DIR, start_agent, stop_agent
from nguon.broadcast.tests.device_helpers import enrolment_code, make_device, open_event
from nguon.broadcast.tests.test_gateway import PROJECT_DIR, Events, Server, _database_url, enrol, until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(300),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="several gateways share PostgreSQL"),
    pytest.mark.skipif(not (AGENT_DIR / "nguon_agent").is_dir(), reason="agent/ is not in this checkout"),
]


class Gateway(Server):
    """A uvicorn process accepting on its own SO_REUSEPORT socket (other gateways may bind the same port)."""

    def __init__(self, log: Path, *, listeners: int, port: int = 0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = log
        signer()  # the signing key exists before the server reads it from the same data directory
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "nguon.config.settings",
            "NGUON_DATA_DIR": str(settings.DATA_DIR),
            "NGUON_DATABASE_URL": _database_url(),
            "NGUON_DEBUG": "false",
        }
        command = [sys.executable, "-m", "uvicorn", "nguon.config.asgi:application", "--fd", str(self.sock.fileno())]
        command += [
            "--http",
            fastpath.PROTOCOL,
            "--lifespan",
            "on",
            "--log-level",
            "info",
            "--no-access-log",
            "--timeout-graceful-shutdown",
            "2",
        ]
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                command, env=env, cwd=PROJECT_DIR, pass_fds=[self.sock.fileno()], stdout=out, stderr=subprocess.STDOUT
            )
        # Our copy must go: left open here it would stay in the port's group after the gateway dies, and the kernel
        # would keep handing it connections that nobody accepts.
        self.sock.close()
        # Ready once its lifespan warm-up is done (a request could be answered by another gateway on the port).
        assert until(lambda: "Application startup complete" in self.output() or self.process.poll() is not None, 60)
        assert self.process.poll() is None, self.output()
        # The listener is up too: a push committed from now on wakes it.
        assert until(lambda: _listeners() >= listeners, 30), "the gateway does not LISTEN"

    def connect(self, timeout: float = 60):
        return super().connect(timeout=max(timeout, 60))  # a loaded CI machine: enrolment compiles a manifest

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


def _listeners() -> int:
    """Connections (of every gateway) listening for wake-ups: the last statement of each is its last LISTEN."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN nguon_acks' AND datname = current_database()"
        )
        return cursor.fetchone()[0]


def _agent(server_url: str, state: Path, code: str, log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return start_agent(server_url, state, "--on-reboot", "exit", "--code", code, stdout=out)


def _acknowledged(alert, devices) -> bool:
    done = (DispatchState.ACKNOWLEDGED, DispatchState.PLAYED)
    found = AlertDispatch.objects.filter(alert=alert, device__in=devices, state__in=done).count()
    return found == len(devices)


def _acks_per_device(alert) -> dict[int, int]:
    counted: dict[int, int] = {}
    for device_id in AlertReceipt.objects.filter(alert_id=alert.pk, state="acknowledged").values_list(
        "device_id", flat=True
    ):
        counted[device_id] = counted.get(device_id, 0) + 1
    return counted


def _frames_until(stream: Events, kind: str) -> list[dict]:
    """Frames read up to and including the first of this kind."""
    frames = []
    while True:
        frame = stream.next_frame()
        assert frame is not None, f"the stream ended before a {kind} event: {frames}"
        frames.append(frame)
        if frame["event"] == kind:
            return frames


def test_three_gateways_share_alerts_acknowledgements_and_survive_one_killed_mid_alert(cast, tmp_path):
    gateways: list[Gateway] = []
    agents: list[subprocess.Popen] = []
    try:
        a = Gateway(tmp_path / "a.log", listeners=1)
        gateways.append(a)
        k = Gateway(tmp_path / "k.log", listeners=2)
        gateways.append(k)
        on_a, on_k = make_device(cast, "MG-A01", kind="board"), make_device(cast, "MG-K01", kind="board")
        raw = make_device(cast, "MG-RAW", kind="board")
        agents.append(_agent(a.base_url, tmp_path / "agent-a", enrolment_code(cast, on_a), tmp_path / "agent-a.log"))
        agents.append(_agent(k.base_url, tmp_path / "agent-k", enrolment_code(cast, on_k), tmp_path / "agent-k.log"))
        raw_token, public_key = enrol(a, cast, raw)

        # Alert 1 while K is alone on its port: the agent there gets it on a stream held by K (the alert is sticky,
        # so an agent whose stream opens after the approval gets it all the same).
        first = make_alert(cast)
        raw_stream = Events(a, raw_token)
        alert_actions.do_approve(first, acting_user=cast.approver)
        frames = _frames_until(raw_stream, "alert")
        assert open_event(frames[-1]["data"], public_key)["alert"]["id"] == first.pk
        raw_stream.close()
        ack(a, raw_token, first, 1)  # taken by A
        assert until(lambda: _acknowledged(first, [on_a, on_k, raw]), 60), list(
            AlertDispatch.objects.filter(alert=first).values_list("device__code", "state")
        )
        assert _acks_per_device(first) == {on_a.pk: 1, on_k.pk: 1, raw.pk: 1}  # counted once each

        # Acknowledged at A, so K does not replay the alert to that device (no Last-Event-ID: every sticky alert
        # it has not acknowledged would come first, before the command pushed now).
        def k_knows():
            stream = Events(k, raw_token)
            try:
                actions.do_push_command([raw], type="volume", body={"volume": 30}, acting_user=cast.approver,
                                        unit=cast.commune)  # fmt: skip
                return [f["event"] for f in _frames_until(stream, "volume")]
            finally:
                stream.close()

        for _attempt in range(20):  # the message from A arrives within milliseconds; allow for a slow machine
            seen = k_knows()
            if "alert" not in seen:
                break
            time.sleep(0.5)
        assert "alert" not in seen, seen

        # B joins K's port; K freezes, alert 2 is approved, and K dies without having sent it.
        b = Gateway(tmp_path / "b.log", listeners=3, port=k.port)
        gateways.append(b)
        second = make_alert(cast, headline="Cảnh báo lần hai")
        os.kill(k.process.pid, signal.SIGSTOP)
        alert_actions.do_approve(second, acting_user=cast.approver)
        assert until(lambda: _acknowledged(second, [on_a]), 60)  # A's agent has it
        k.kill()
        # K's agent reconnects to the same port, served by B now, which replays the sticky alert.
        assert until(lambda: _acknowledged(second, [on_a, on_k]), 90), (tmp_path / "agent-k.log").read_text()[-3000:]
        assert _acks_per_device(second) == {on_a.pk: 1, on_k.pk: 1}
        assert _acks_per_device(first) == {on_a.pk: 1, on_k.pk: 1, raw.pk: 1}  # nothing acknowledged twice
        assert "Traceback" not in a.output() + b.output()
    finally:
        for agent in agents:
            stop_agent(agent)
        for gateway in gateways:
            if gateway.process.poll() is None:
                gateway.stop()
