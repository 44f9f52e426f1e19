"""Feedback pages on a large table: the staff list and the dashboard with 200,000 feedback rows on PostgreSQL.

Creates its own database on the PostgreSQL server of NGUON_BENCH_DATABASE_URL (a server URL, default
postgres://postgres@127.0.0.1:5432/), runs bench/feedback_pages.py in a process of its own against it (migrate,
units, COPY of the rows, then each page timed as a signed-in province editor and a commune editor sees it, beside the
raw SQL of the page's queries on the feedback table, executed in the same run), and drops the database.
Target: p95 < 300 ms for every page. `NGUON_BENCH_QUICK=1`: 20,000 rows. `python -m bench feedback_pages`.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

from bench.devices.servers import PYTHON, ROOT, django_env

SERVER = os.environ.get("NGUON_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/")


def _psql(sql: str) -> None:
    from urllib.parse import urlsplit

    url = urlsplit(SERVER)
    command = ["psql", "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    command += ["-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql]
    subprocess.run(command, check=True, capture_output=True, timeout=120, env=env)


def run() -> dict:
    name = f"nguon_bench_feedback_{os.getpid()}"
    base = SERVER if SERVER.endswith("/") else SERVER.rsplit("/", 1)[0] + "/"
    try:
        _psql(f"CREATE DATABASE {name}")
    except (subprocess.SubprocessError, OSError) as exc:
        return {"error": f"cannot create a database on {base}: {exc}"}
    try:
        with tempfile.TemporaryDirectory(prefix="nguon-feedback-bench-") as work:
            env = django_env(Path(work), base + name)
            # Progress and errors go straight to this process's stderr; the JSON comes on stdout.
            done = subprocess.run(
                [PYTHON, "-m", "bench.feedback_pages"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                text=True,
                timeout=3600,
            )
            if done.returncode:
                return {"error": f"bench.feedback_pages exited with {done.returncode} (see stderr)"}
            return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
