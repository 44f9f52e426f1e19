"""`nguon serve` as a real process: with its worker, simulated devices and Icecast, and a stop that stops them all."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from nguon.core.tests.net import answers, free_port

PROJECT = Path(__file__).resolve().parents[3]


def children_of(pid: int) -> set[int]:
    """Every descendant process of `pid`, from /proc."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*/children"):
            with_children = {int(p) for p in task.read_text().split()}
            todo += list(with_children - found)
            found |= with_children
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_for(predicate, what: str, timeout: float = 60.0, output_of=None) -> None:
    """Poll a condition of another process (readiness, not timing): fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            if output_of is not None:
                output_of.kill()
                what += ":\n" + output_of.stdout.read()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def data_dir():
    """A data directory with a migrated database and a simulated device's token file.

    Not pytest's tmp_path: icecast2 drops to its own account when started as root, and that account must be able
    to reach the directory (pytest's is private to the user)."""
    tmp_path = Path(tempfile.mkdtemp(prefix="nguon-serve-"))
    tmp_path.chmod(0o711)
    env = {**os.environ, "NGUON_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "nguon.config.settings"}
    env.pop("NGUON_DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "nguon", "migrate", "--no-input", "-v0"], env=env, check=True, cwd=PROJECT)
    key = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    line = {"token": "nd1_not-a-real-token", "public_key": base64.b64encode(key).decode(), "device": "SIM-1"}
    (tmp_path / "demo-device-tokens.jsonl").write_text(json.dumps(line) + "\n")
    yield tmp_path, env
    shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stopping_serve_stops_worker_devices_and_icecast(data_dir, stop_signal):
    if shutil.which("icecast2") is None:
        pytest.skip("icecast2 is not installed (scripts/system-packages.sh)")
    path, env = data_dir
    port, ice_port = free_port(), free_port()
    env["NGUON_ICECAST_URL"] = f"http://127.0.0.1:{ice_port}"
    serve = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nguon",
            "serve",
            "--port",
            str(port),
            "--with-worker",
            "--with-devices",
            "--with-icecast",
        ],
        env=env,
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    children: set[int] = set()
    try:
        wait_for(lambda: answers(port) or serve.poll() is not None, "the server to listen")
        wait_for(lambda: answers(ice_port) or serve.poll() is not None, "Icecast to listen", output_of=serve)
        assert serve.poll() is None, serve.stdout.read()
        children = children_of(serve.pid)
        commands = {pid: Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode() for pid in children}
        assert any("nguon worker" in c for c in commands.values()), commands
        assert any("nguon_agent simulate" in c for c in commands.values()), commands
        assert any("icecast" in c for c in commands.values()), commands

        serve.send_signal(stop_signal)
        output, _ = serve.communicate(timeout=40)
        assert serve.returncode is not None
        left = [commands[pid] for pid in children if alive(pid)]
        assert left == [], f"still running after {stop_signal.name}: {left}\n{output}"
        assert not answers(port) and not answers(ice_port)
        assert f"Icecast: live broadcasts at http://127.0.0.1:{ice_port}/" in output
    finally:
        if serve.poll() is None:
            serve.kill()
        for pid in children:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_serve_says_how_to_get_icecast_when_it_is_missing(data_dir):
    path, env = data_dir
    port = free_port()
    env["NGUON_ICECAST_BIN"] = ""
    env["PATH"] = str(Path(sys.executable).parent)  # no icecast2 on this PATH
    env["NGUON_ICECAST_URL"] = f"http://127.0.0.1:{free_port()}"
    serve = subprocess.Popen(
        [sys.executable, "-m", "nguon", "serve", "--port", str(port), "--with-icecast"],
        env=env,
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(lambda: answers(port) or serve.poll() is not None, "the server to listen")
        serve.send_signal(signal.SIGTERM)
        output, _ = serve.communicate(timeout=30)
    finally:
        if serve.poll() is None:
            serve.kill()
    assert "icecast2 is not installed" in output and "apt-get install icecast2" in output
