import contextlib
import ctypes
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks
from django.core.management.base import BaseCommand

from nguon.broadcast import fastpath

# Connections the kernel may hold before the server accepts them. When an alert goes out, every device of a province
# opens a connection at once to acknowledge it; past the backlog the kernel drops them and each device retries a
# second or more later. The kernel caps it at net.core.somaxconn (docs/deploy.md raises that).
BACKLOG = 65535


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if `nguon serve` dies, even by SIGKILL (Linux only)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _exit_on_sigterm(signum, frame):
    # uvicorn catches SIGTERM, shuts down, then raises the signal again once its own handler is gone: with the
    # default action the process would die right there, before the `finally` that stops the children runs.
    raise SystemExit(128 + signum)


class Command(BaseCommand):
    help = (
        "Serve the app over ASGI (uvicorn); with --with-worker also run the background worker, with --with-devices "
        "the simulated demo devices, with --with-icecast a local Icecast for live broadcasts. Stopping it (Ctrl-C or "
        "SIGTERM) stops all of them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--workers",
            "--gateways",
            type=int,
            default=1,
            help="server processes sharing the port (each one a device gateway; Ctrl-C or SIGTERM stops them all)",
        )
        parser.add_argument(
            "--reuse-port",
            action="store_true",
            help="bind with SO_REUSEPORT, so that several `nguon serve` processes (one service each) share the "
            "port: the kernel spreads new connections over them, and a stopped one's devices reconnect to the rest",
        )
        parser.add_argument(
            "--with-worker",
            action="store_true",
            help="start `nguon worker` and the central link loop beside the server",
        )
        parser.add_argument(
            "--with-devices",
            action="store_true",
            help="run the demo devices as simulated receivers (nguon-agent simulate; see `nguon demo`)",
        )
        parser.add_argument(
            "--with-icecast",
            action="store_true",
            help="run Icecast (icecast2) for live broadcasts on the port of NGUON_ICECAST_URL, when that is local",
        )

    def handle(self, *args, host, port, workers, reuse_port, with_worker, with_devices, with_icecast, **options):
        import uvicorn

        for message in checks.run_checks(include_deployment_checks=True, tags=["nguon"]):
            self.stderr.write(self.style.WARNING(str(message)))
        previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
        children: list[tuple[str, subprocess.Popen]] = []
        try:
            if with_icecast:
                icecast = self._start_icecast(port)
                if icecast is not None:
                    children.append(("icecast2", icecast))
            if with_worker:
                children.append(("worker", self._spawn([sys.executable, "-m", "nguon", "worker"])))
                # The link with a parent instance: a long poll, so an emergency from above arrives in about a second.
                children.append(("central", self._spawn([sys.executable, "-m", "nguon", "central_sync", "--forever"])))
            tokens = settings.DATA_DIR / "demo-device-tokens.jsonl"
            if with_devices and tokens.exists():
                count = sum(1 for line in tokens.open() if line.strip())
                command = [
                    sys.executable, "-m", "nguon_agent", "simulate", "--server", f"http://{host}:{port}",
                    "--devices", str(count), "--tokens", str(tokens),
                ]  # fmt: skip
                children.append(("devices", self._spawn(command)))
            self.stdout.write(f"Nguồn: http://{host}:{port}/  (data: {settings.DATA_DIR})")
            # The socket object must live as long as the server: collecting it would close the descriptor.
            shared = _reuse_port_socket(host, port) if reuse_port else None
            listen = {"fd": shared.fileno()} if shared else {"host": host, "port": port}
            uvicorn.run(
                "nguon.config.asgi:application",
                **listen,
                workers=workers,
                backlog=BACKLOG,
                # httptools, with the device manifest answered from the gateway's memory (broadcast/fastpath.py).
                http=fastpath.PROTOCOL,
                log_level="info",
                # Behind nginx (deploy/nginx): the client's address (rate limits, audit) and https come from
                # X-Forwarded-For/-Proto, believed only from these addresses (NGUON_TRUSTED_PROXIES).
                proxy_headers=bool(settings.TRUSTED_PROXIES),
                forwarded_allow_ips=settings.TRUSTED_PROXIES or None,
                # Device event streams never end by themselves: past this, shutdown cancels them (devices reconnect).
                timeout_graceful_shutdown=5,
            )
        finally:
            self._stop(children)
            signal.signal(signal.SIGTERM, previous)

    def _spawn(self, command, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(
            command, env=kwargs.pop("env", os.environ.copy()), preexec_fn=_die_with_parent, **kwargs
        )

    def _stop(self, children) -> None:
        """Stop children newest first: each gets SIGTERM and 10 s, then SIGKILL."""
        for _name, child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for name, child in reversed(children):
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop within 10 s: killed")
                child.kill()
                child.wait()

    def _start_icecast(self, app_port: int) -> subprocess.Popen | None:
        """Icecast as a child process (foreground), configured by scripts/icecast.sh; None, with a note, if not."""
        url = urlsplit(settings.ICECAST_URL)
        host = url.hostname or ""
        if not _is_local(host):
            self.stdout.write(f"Icecast: using the server at {settings.ICECAST_URL} (NGUON_ICECAST_URL); none started.")
            return None
        script = settings.PROJECT_DIR / "scripts" / "icecast.sh"
        binary = os.environ.get("NGUON_ICECAST_BIN") or shutil.which("icecast2") or shutil.which("icecast")
        if binary is None or not script.exists():
            self.stderr.write(
                self.style.WARNING(
                    "Icecast: icecast2 is not installed, so live broadcasts and stream relays are off. Install it "
                    "(Debian: apt-get install icecast2, or `make system-run` as root), or point NGUON_ICECAST_URL at "
                    "an Icecast server; everything else works without it."
                )
            )
            return None
        env = {
            **os.environ,
            "NGUON_DATA_DIR": str(settings.DATA_DIR),
            "NGUON_ICECAST_PORT": str(url.port or 8001),
            "NGUON_APP_PORT": str(app_port),
        }
        status = subprocess.run([str(script), "status"], env=env, capture_output=True, text=True)
        if status.returncode == 0:
            self.stdout.write(f"Icecast: already running ({status.stdout.strip()}); left as it is.")
            return None
        config = subprocess.run([str(script), "config"], env=env, capture_output=True, text=True)
        if config.returncode != 0:
            self.stderr.write(self.style.WARNING(f"Icecast: not started: {config.stderr.strip()}"))
            return None
        # Foreground (no -b): it stays our child, so stopping `nguon serve` stops it too.
        log = open(settings.DATA_DIR / "icecast" / "run" / "serve.log", "ab")  # noqa: SIM115
        child = self._spawn([binary, "-c", config.stdout.strip()], env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.stdout.write(f"Icecast: live broadcasts at {settings.ICECAST_URL}/ (pid {child.pid})")
        return child


def _reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening socket on host:port that other processes may bind too (SO_REUSEPORT, Linux ≥ 3.9)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host.strip("[]"), port))
    sock.listen(BACKLOG)
    sock.set_inheritable(True)  # uvicorn's worker processes (--workers) accept on it too
    return sock


def _is_local(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
