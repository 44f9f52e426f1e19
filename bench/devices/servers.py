"""Processes of the device benchmark: the gateway (uvicorn), nginx and wrk, all on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from nguon.broadcast import fastpath

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
NOFILE = 65536


def raise_nofile(limit: int = NOFILE) -> int:
    """Raise this process's open-file limit (the hard one too when we may); return the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, limit), max(hard, limit)))
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, limit), hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


KERNEL_QUEUES = {"net/core/somaxconn": 65535, "net/ipv4/tcp_max_syn_backlog": 65535}


def tune_kernel() -> dict:
    """Let the listen backlog hold a province's devices connecting at once (root only; docs/deploy.md does the same
    for production). Returns the values in force, to print beside the figures."""
    found = {}
    for name, wanted in KERNEL_QUEUES.items():
        path = Path("/proc/sys") / name
        with contextlib.suppress(OSError, ValueError):
            if int(path.read_text()) < wanted:
                path.write_text(str(wanted))
        with contextlib.suppress(OSError, ValueError):
            found[name.rsplit("/", 1)[1]] = int(path.read_text())
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def django_env(data_dir: Path, database_url: str = "") -> dict:
    env = {**os.environ, "NGUON_DATA_DIR": str(data_dir), "NGUON_DEBUG": "0"}
    env["DJANGO_SETTINGS_MODULE"] = "nguon.config.settings"
    env.pop("NGUON_DATABASE_URL", None)
    if database_url:
        env["NGUON_DATABASE_URL"] = database_url
    return env


def setup(env: dict, *args: str, timeout: float = 300) -> str:
    """Run `python -m bench.devices.setup ARGS` (Django work in its own process); return its stdout."""
    done = subprocess.run(
        [PYTHON, "-m", "bench.devices.setup", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode:
        raise RuntimeError(f"setup {args[0]} failed: {done.stderr[-3000:]}")
    return done.stdout


def proc_status(pid: int) -> dict:
    """VmRSS (MB), VmHWM (MB, peak) and Threads of a process, from /proc."""
    found = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key.lower() + "_mb"] = round(int(value.split()[0]) / 1024, 1)
            elif key == "Threads":
                found["threads"] = int(value)
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
            if line.startswith("Max open files"):
                found["nofile"] = int(line.split()[3])
    return found


class Process:
    """A child process in its own process group, with its output in a log file; stop() ends the group."""

    def __init__(self, argv: list[str], *, log: Path, env: dict | None = None, cwd: Path = ROOT):
        self.log = log
        self._log = open(log, "wb")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: raise_nofile(),
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def tail(self, chars: int = 2000) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-chars:]
        return ""

    def stop(self, timeout: float = 10) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._log.close()


def start_gateway(
    env: dict, log: Path, token: str, *, port: int | None = None, wait: bool = True
) -> tuple[Process, int]:
    """The gateway (uvicorn, one process) on `port` (a free one by default); with `wait`, once it answers."""
    port = port or free_port()
    argv = [PYTHON, "-m", "uvicorn", "nguon.config.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--no-access-log", "--loop", "uvloop", "--http", fastpath.PROTOCOL, "--backlog", "65535"]
    # As `nguon serve` without NGUON_TRUSTED_PROXIES: no proxy headers to read (uvicorn reads them by default).
    argv += ["--timeout-graceful-shutdown", "2", "--log-level", "warning", "--no-proxy-headers"]
    server = Process(argv, log=log, env=env)
    if not wait:
        return server, port
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/device/v1/manifest", headers={"Authorization": f"Bearer {token}"}
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"the gateway exited: {server.tail()}")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return server, port
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"the gateway did not answer within 60 s: {server.tail()}")


_NGINX_CONF = """
user root root;
worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy; fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
    default_type application/json;
    server {{
        listen 127.0.0.1:{port};
        location = /device/v1/manifest {{ root {dir}/www; try_files /manifest.json =404; }}
    }}
}}
"""


def start_worker(env: dict, log: Path) -> Process:
    """The Huey worker (`nguon worker`: two threads, the settings' polling), as deployed beside the gateway."""
    return Process([PYTHON, "-m", "nguon", "worker"], log=log, env=env)


def start_web(env: dict, log: Path, ready_path: str = "/accounts/login/") -> tuple[Process, int]:
    """The whole Django app under uvicorn on a free port, once `ready_path` answers 200."""
    port = free_port()
    argv = [PYTHON, "-m", "uvicorn", "nguon.config.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--no-access-log", "--log-level", "warning"]
    server = Process(argv, log=log, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"the web app exited: {server.tail()}")
        with (
            contextlib.suppress(urllib.error.URLError, OSError),
            urllib.request.urlopen(f"http://127.0.0.1:{port}{ready_path}", timeout=5) as response,
        ):
            if response.status == 200:
                return server, port
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"the web app did not answer within 60 s: {server.tail()}")


def start_nginx(directory: Path, body: bytes, workers: int = 1) -> tuple[Process, int, str]:
    """nginx serving `body` as a static file (its own ETag, 304 on If-None-Match); returns (process, port, etag)."""
    port = free_port()
    (directory / "www").mkdir(parents=True, exist_ok=True)
    (directory / "www" / "manifest.json").write_bytes(body)
    conf = directory / "nginx.conf"
    conf.write_text(_NGINX_CONF.format(dir=directory, port=port, workers=workers))
    server = Process(
        ["/usr/sbin/nginx", "-c", str(conf), "-p", str(directory), "-g", "daemon off;"], log=directory / "out.log"
    )
    url = f"http://127.0.0.1:{port}/device/v1/manifest"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"nginx exited: {server.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return server, port, response.headers["ETag"]
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    server.stop()
    raise RuntimeError("nginx did not answer within 20 s")


def wrk(url: str, headers: dict, *, seconds: int, connections: int = 64, threads: int = 2) -> dict:
    argv = ["/usr/bin/wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for key, value in headers.items():
        argv += ["-H", f"{key}: {value}"]
    done = subprocess.run(argv + [url], capture_output=True, text=True, timeout=seconds + 30)
    out = done.stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:(.*)", out)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    if rate is None:
        sys.stderr.write(out + done.stderr)
    return {
        "req_per_s": float(rate.group(1)) if rate else None,
        "non_2xx_3xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
        "latency_p99": p99.group(1) if p99 else None,
    }
