"""Federation: an emergency bulletin published at the parent instance until the child's devices have it.

Two real instances on loopback, each `nguon serve` in a fresh data directory (SQLite) with its own database, paired
by the command line (`nguon central_pair`): the parent (web only: its long-poll endpoint serves the child), the
child (`--with-worker`: the central link's loop, which long-polls the parent, and the worker that renders speech).
N simulated devices (N = 1,000; QUICK: 200), every other an e-board, hold event streams on the child's gateway
(`bench/central/clients.py`, the alerts benchmark's raw HTTP/1.1 client, one asyncio process).

Each round: a bulletin of class emergency is written, approved and published at the parent by a subprocess
(`nguon.central.tests.instance publish`; `clicked_at` is taken before the bulletin is created). The parent queues it
for the child after commit; the parent's long poll notices the row (it polls the table about once a second when the
publisher is another process); the child applies it (published at once, TT 39) and the broadcast app dispatches the
`play` command: e-boards get the text at once, loudspeakers once the child's worker has rendered the speech
(espeak-ng, a new text each round). Reported per round: seconds from the click to each device's `play` frame
(p50/p99/max over all N, and per item kind), and `parent_to_child_s`, the click until the child recorded the
message in its inbox. ROUNDS = 3 (QUICK: 1), each with a new bulletin.

Limits: parent, child, worker, the link loop and the 1,000 clients share this machine's 2 cores; the loudspeakers'
time includes rendering the speech (see the speech benchmark for that alone). `python -m bench central_emergency`.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.central import clients
from bench.devices.servers import raise_nofile
from nguon.central.tests.instance import token
from nguon.central.tests.processes import Instance, pair

QUICK = os.environ.get("NGUON_BENCH_QUICK") == "1"
DEVICES = 200 if QUICK else 1000
ROUNDS = 1 if QUICK else 3
TARGET = "every device has the emergency within a few seconds of its publication at the parent (issue 11)"


def _log(message: str) -> None:
    sys.stderr.write(f"  central_emergency: {message}\n")


def _round(parent: Instance, child: Instance, index: int) -> dict:
    title = f"Khẩn cấp {index + 1}: nước sông Đồng Nai lên nhanh lúc {time.strftime('%H:%M:%S')}"
    box: dict = {}

    def publish() -> dict:
        box.update(parent.step("publish", "emergency", title))
        return box

    result = clients.emergency_round("127.0.0.1", child.port, [token(i) for i in range(DEVICES)], publish, title)
    received = child.step("received", box["uri"])["received_at"]
    result["parent_to_child_s"] = round(received - box["clicked_at"], 3) if received else None
    result["publish_commit_s"] = round(box["published_at"] - box["clicked_at"], 3)
    return result


def run() -> dict:
    result: dict = {"devices": DEVICES, "rounds": [], "quick": QUICK, "client_nofile": raise_nofile(),
                    "load_avg_at_start": [round(x, 2) for x in os.getloadavg()], "target": TARGET}  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="nguon-central-bench-"))
    parent, child = Instance("parent", work), Instance("child", work)
    try:
        _log("setting up two instances…")
        parent.step("setup")
        child.step("setup", "--devices", str(DEVICES))
        parent.start(worker=False)
        child.start()
        pair(parent, child)
        for index in range(ROUNDS):
            _log(f"round {index + 1}/{ROUNDS}…")
            result["rounds"].append(_round(parent, child, index))
        state = child.state()
        result["child_link"] = state["links"][0]
        all_times = [r["devices"] for r in result["rounds"]]
        result["summary"] = {
            "p50_s": [t.get("p50_s") for t in all_times],
            "p99_all_s": [t.get("p99_all_s") for t in all_times],
            "missing": [t.get("missing") for t in all_times],
            "parent_to_child_s": [r["parent_to_child_s"] for r in result["rounds"]],
        }
    except Exception as exc:  # report what was measured, and why it stopped
        result["error"] = f"{type(exc).__name__}: {str(exc)[-3000:]}"
    finally:
        for instance in (child, parent):
            instance.stop()
        shutil.rmtree(work, ignore_errors=True)
    return result
