"""Several gateway processes for the alerts benchmark, and the fresh PostgreSQL database they share.

Each gateway is its own uvicorn process (uvloop, httptools, as bench.devices.servers.start_gateway) accepting on
its own SO_REUSEPORT socket bound to one shared port, as `nguon serve --reuse-port` does: the kernel spreads new
connections over them, and when one is killed its devices reconnect to the same address and reach the others.
They share nothing but the database (and Redis when NGUON_REDIS_URL is set).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from bench.devices.servers import PYTHON, ROOT, free_port, raise_nofile
from nguon.broadcast import fastpath

POSTGRES = os.environ.get("NGUON_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")


def fresh_database(name: str) -> str:
    """Create an empty PostgreSQL database (dropped first if a crashed run left it); return its URL."""
    drop_database(name)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True, capture_output=True)
    return f"{POSTGRES}/{name}"


def drop_database(name: str) -> None:
    subprocess.run(["dropdb", "--if-exists", "--force", "-h", "127.0.0.1", "-U", "postgres", name], capture_output=True)


class Gateway:
    """One uvicorn process on its own SO_REUSEPORT socket for `port`; output in `log`."""

    def __init__(self, env: dict, log: Path, port: int):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(4096)
        self.log = log
        argv = [PYTHON, "-m", "uvicorn", "nguon.config.asgi:application", "--fd", str(self.sock.fileno())]
        argv += ["--no-access-log", "--loop", "uvloop", "--http", fastpath.PROTOCOL, "--lifespan", "on"]
        argv += ["--timeout-graceful-shutdown", "2", "--log-level", "info", "--no-proxy-headers"]
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                pass_fds=[self.sock.fileno()], preexec_fn=lambda: raise_nofile(),
            )  # fmt: skip
        # Our copy must go: a socket still open here would stay in the port's group after the gateway dies, and the
        # kernel would keep handing it new connections that nobody accepts.
        self.sock.close()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def tail(self, chars: int = 2000) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-chars:]
        return ""

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"a gateway exited: {self.tail()}")
        return "Application startup complete" in self.tail(100_000)

    def kill(self) -> None:
        """SIGKILL: no shutdown at all, as when a machine or process dies."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def start_gateways(env: dict, directory: Path, count: int) -> tuple[list[Gateway], int]:
    """`count` gateways sharing one free port, once each has finished its warm-up."""
    port = free_port()
    gateways = [Gateway(env, directory / f"gateway-{i}.log", port) for i in range(count)]
    deadline = time.monotonic() + 90
    try:
        while not all(g.ready() for g in gateways):
            if time.monotonic() > deadline:
                raise RuntimeError("the gateways did not start within 90 s: " + gateways[0].tail())
            time.sleep(0.2)
    except Exception:
        for gateway in gateways:
            gateway.stop()
        raise
    return gateways, port
