import os
import subprocess
import sys

from django.conf import settings
from django.core import checks
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the app over ASGI (uvicorn); with --with-worker also run the background worker."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1, help="ASGI worker processes")
        parser.add_argument("--with-worker", action="store_true", help="start `nguon worker` beside the server")
        parser.add_argument(
            "--with-devices",
            action="store_true",
            help="run the demo devices as simulated receivers (nguon-agent simulate; see `nguon demo`)",
        )

    def handle(self, *args, host, port, workers, with_worker, with_devices, **options):
        import uvicorn

        for message in checks.run_checks(include_deployment_checks=True, tags=["nguon"]):
            self.stderr.write(self.style.WARNING(str(message)))
        worker = None
        if with_worker:
            worker = subprocess.Popen([sys.executable, "-m", "nguon", "worker"], env=os.environ.copy())
        devices = None
        tokens = settings.DATA_DIR / "demo-device-tokens.jsonl"
        if with_devices and tokens.exists():
            count = sum(1 for line in tokens.open() if line.strip())
            devices = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "nguon_agent",
                    "simulate",
                    "--server",
                    f"http://{host}:{port}",
                    "--devices",
                    str(count),
                    "--tokens",
                    str(tokens),
                ],  # fmt: skip
                env=os.environ.copy(),
            )
        self.stdout.write(f"Nguồn: http://{host}:{port}/  (data: {settings.DATA_DIR})")
        try:
            uvicorn.run(
                "nguon.config.asgi:application",
                host=host,
                port=port,
                workers=workers,
                log_level="info",
                proxy_headers=False,
                # Device event streams never end by themselves: past this, shutdown cancels them (devices reconnect).
                timeout_graceful_shutdown=5,
            )
        finally:
            for child in (worker, devices):
                if child is not None:
                    child.terminate()
                    child.wait(timeout=10)
