"""Exchange messages with the parent instance: once, or forever (the worker loop)."""

import signal
import threading

from django.core.management.base import BaseCommand

from nguon.central.federation import sync


class Command(BaseCommand):
    help = "Push the outbox to the parent and pull its messages: once, or with --forever as a long-running loop."

    def add_arguments(self, parser):
        parser.add_argument("--forever", action="store_true", help="keep running (started by `serve --with-worker`)")

    def handle(self, *args, forever, **options):
        if not forever:
            for name, result in sync.sync_once().items():
                self.stdout.write(f"{name}: sent {result.sent}, received {result.received}")
                for error in result.errors:
                    self.stderr.write(f"{name}: {error}")
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        sync.run_forever(stop)
