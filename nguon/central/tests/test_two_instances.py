"""Two real instances on loopback, each `nguon serve --with-worker` with its own data directory and database
(SQLite files, or two PostgreSQL databases when NGUON_TEST_DATABASE_URL is set), paired by the command line.

The child pushes its figures and a shared bulletin up; the parent's bulletins come down; an emergency published at
the parent reaches a real `nguon_agent` enrolled at the child, which plays it; the parent is stopped, messages are
queued on both sides meanwhile, and after its restart each arrives once; a message altered after signing is
refused. Slow (two servers, two workers, an agent, speech rendering): about a minute.

Every instance-side step runs in its own process (`nguon.central.tests.instance`), never in this one: this test
holds no database of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from nguon.central.tests.processes import Instance, databases, drop_databases, pair, until

AGENT_DIR = Path(__file__).resolve().parents[3] / "agent"

pytestmark = [
    pytest.mark.timeout(600),
    pytest.mark.skipif(not (AGENT_DIR / "nguon_agent").is_dir(), reason="agent/ is not in this checkout"),
    pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("ffmpeg")), reason="no speech engine"),
]


def _agent(server_url: str, state: Path, code: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(AGENT_DIR), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "nguon_agent", "--log-level", "INFO", "run", "--server", server_url]
    command += ["--state", str(state), "--no-fsync", "--on-reboot", "exit", "--code", code]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@pytest.fixture
def instances():
    root = Path(tempfile.mkdtemp(prefix="nguon-federation-"))
    found = databases(["parent", "child"])
    made = {name: Instance(name, root, found.get(name, "")) for name in ("parent", "child")}
    yield made
    for instance in made.values():
        instance.stop()
    drop_databases(list(found.values()))
    shutil.rmtree(root, ignore_errors=True)


def test_two_instances_pair_push_pull_play_an_emergency_survive_a_restart_and_refuse_tampering(instances, tmp_path):
    parent, child = instances["parent"], instances["child"]
    parent.step("setup")
    child.step("setup")
    device = child.step("enrol", "AG-001")
    parent.start()
    child.start()

    # Pairing by the command line: a one-time code made at the parent, used at the child.
    pair(parent, child)
    assert child.state()["links"][0]["role"] == "parent"
    assert parent.state()["links"][0]["state"] == "active"

    # Up: the child's figures and a bulletin it shares.
    child.step("figures")
    child.step("share", "Gương sáng phường Biên Hòa")
    state = until(parent, lambda s: s["child_reports"] and "Gương sáng phường Biên Hòa" in s["shared"], "UP")
    assert state["child_inventories"] == 1

    # Down: a normal bulletin awaits the province's approval there; an emergency plays on the child's agent.
    agent = _agent(child.url, tmp_path / "agent", device["code"])
    output = ""
    try:
        parent.step("publish", "normal", "Tuyên truyền ngày bầu cử")
        emergency = parent.step("publish", "emergency", "Khẩn cấp: lũ trên sông Đồng Nai")
        state = until(child, lambda s: any(p[0] == "AG-001" and p[1] == "played" for p in s["played"]),
                      "the emergency played on the agent", timeout=180)  # fmt: skip
        classes = {b["title"]: (b["status"], b["priority"]) for b in state["from_above"]}
        assert classes["Tuyên truyền ngày bầu cử"] == ("submitted", "normal")
        assert classes["Khẩn cấp: lũ trên sông Đồng Nai"] == ("published", "emergency")
        assert "Khẩn cấp: lũ trên sông Đồng Nai" in state["play_events"]
        arrived = child.step("received", emergency["uri"])["received_at"]
        assert arrived is not None and arrived - emergency["published_at"] < 30
    finally:
        if agent.poll() is None:
            agent.terminate()
        output = agent.communicate(timeout=30)[0].decode(errors="replace")
    assert "bad_signature" not in output

    # The parent goes down; both sides queue messages meanwhile; after its restart each arrives once.
    parent.stop()
    child.step("share", "Trong lúc cấp trên tạm dừng")
    parent.step("publish", "priority", "Ưu tiên: lịch tiêm chủng")
    parent.start()
    until(parent, lambda s: "Trong lúc cấp trên tạm dừng" in s["shared"], "the message queued during the outage")
    state = until(child, lambda s: any(b["title"] == "Ưu tiên: lịch tiêm chủng" for b in s["from_above"]),
                  "the bulletin published during the outage")  # fmt: skip
    assert [b["title"] for b in state["from_above"]].count("Ưu tiên: lịch tiêm chủng") == 1
    assert len(state["inbox"]) == len({key for _kind, key in state["inbox"]}) == 3
    parent_state = parent.state()
    assert parent_state["shared"].count("Trong lúc cấp trên tạm dừng") == 1
    assert parent_state["shared"].count("Gương sáng phường Biên Hòa") == 1
    until(child, lambda s: s["outbox_pending"] == 0, "the child's outbox to drain")

    # A message changed after it was signed is refused, and nothing of it is kept.
    answer = child.step("tamper")
    assert 400 <= answer["status"] < 500, answer
    assert "signature" in json.dumps(answer)
    assert "Tin giả mạo" not in parent.state()["shared"]
