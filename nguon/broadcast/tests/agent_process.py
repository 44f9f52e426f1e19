"""A real `nguon-agent run` process for end-to-end tests: started from this checkout's agent/, stopped politely."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

AGENT_DIR = Path(__file__).resolve().parents[3] / "agent"
HAS_AGENT = (AGENT_DIR / "nguon_agent").is_dir()


def start_agent(server_url: str, state: Path, *args: str, stdout=subprocess.PIPE) -> subprocess.Popen:
    """`nguon-agent run` against `server_url` with its state in `state` (journal without fsync); `args` add options."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(AGENT_DIR), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "nguon_agent", "--log-level", "INFO", "run", "--server", server_url]
    command += ["--state", str(state), "--no-fsync", *args]
    return subprocess.Popen(command, env=env, stdout=stdout, stderr=subprocess.STDOUT)


def stop_agent(proc: subprocess.Popen) -> str:
    """Terminate it (then kill it if it lingers); return what it printed."""
    if proc.poll() is None:
        proc.terminate()
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate(timeout=10)
    return (out or b"").decode(errors="replace")
