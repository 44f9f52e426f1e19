"""Real instances as processes on loopback, for the two-instance test and the federation benchmark: each is
`nguon serve` with its own data directory and database, driven by `nguon.central.tests.instance` subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from nguon.core.tests.net import answers, free_port

PROJECT = Path(__file__).resolve().parents[3]


def wait_for(predicate, what: str, timeout: float = 60.0) -> None:
    """Poll a condition of another process (readiness, not timing): fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def databases(names: list[str]) -> dict[str, str]:
    """A fresh PostgreSQL database per instance when the suite runs on PostgreSQL; SQLite files otherwise."""
    base = os.environ.get("NGUON_TEST_DATABASE_URL", "")
    if not base:
        return {}
    import psycopg

    url = urlsplit(base)
    admin = url._replace(path="/postgres").geturl()
    found = {}
    with psycopg.connect(admin, autocommit=True) as connection:
        for name in names:
            database = f"{url.path.lstrip('/')}_fed_{name}"
            connection.execute(f'DROP DATABASE IF EXISTS "{database}"')
            connection.execute(f'CREATE DATABASE "{database}"')
            found[name] = url._replace(path=f"/{database}").geturl()
    return found


def drop_databases(urls: list[str]) -> None:
    """Drop the databases `databases` made (their servers stopped first)."""
    if not urls:
        return
    import psycopg

    admin = urlsplit(urls[0])._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        for url in urls:
            connection.execute(f'DROP DATABASE IF EXISTS "{urlsplit(url).path.lstrip("/")}" WITH (FORCE)')


class Instance:
    """One instance: its data directory, database, port, and the `nguon serve` process when it runs."""

    def __init__(self, name: str, root: Path, database_url: str = ""):
        self.name = name
        self.dir = root / name
        self.dir.mkdir(parents=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "NGUON_DATA_DIR": str(self.dir), "DJANGO_SETTINGS_MODULE": "nguon.config.settings",
                    "NGUON_DEBUG": "0", "NGUON_PUBLIC_URL": self.url, "NGUON_CENTRAL_ALLOW_PRIVATE": "1",
                    "NGUON_CENTRAL_LONG_POLL": "5", "NGUON_CENTRAL_BACKOFF_MAX": "2"}  # fmt: skip
        self.env.pop("NGUON_DATABASE_URL", None)
        if database_url:
            self.env["NGUON_DATABASE_URL"] = database_url
        self.proc: subprocess.Popen | None = None
        self.log = self.dir / "serve.log"

    def run(self, *args: str, timeout: float = 180) -> str:
        done = subprocess.run([sys.executable, *args], env=self.env, cwd=PROJECT, capture_output=True, text=True,
                              timeout=timeout)  # fmt: skip
        assert done.returncode == 0, f"{self.name}: {' '.join(args)}:\n{done.stdout}\n{done.stderr[-3000:]}"
        return done.stdout

    def step(self, *args: str) -> dict:
        return json.loads(self.run("-m", "nguon.central.tests.instance", *args).splitlines()[-1])

    def state(self) -> dict:
        return self.step("state")

    def start(self, *, worker: bool = True) -> None:
        command = [sys.executable, "-m", "nguon", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([*command, *(["--with-worker"] if worker else [])], env=self.env, cwd=PROJECT,
                                         stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        wait_for(lambda: answers(self.port), f"{self.name} to answer", timeout=90)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


def until(instance: Instance, check, what: str, timeout: float = 90.0) -> dict:
    """Poll the instance's state until `check(state)` holds; fail with both logs otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        state = instance.state()
        if check(state):
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} at {instance.name}: {state}\n{instance.tail()}")
        time.sleep(0.5)


def pair(parent: Instance, child: Instance, name: str = "Đồng Nai") -> None:
    """Pair by the command line: a one-time code made at the parent, used at the child."""
    code = parent.run("-m", "nguon", "central_pair", "--code-for", name).strip().splitlines()[-1]
    child.run("-m", "nguon", "central_pair", parent.url, code)
