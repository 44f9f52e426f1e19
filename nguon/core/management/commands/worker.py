from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the background worker (Huey consumer): queued tasks, retries and periodic jobs."

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=2)

    def handle(self, *args, workers, **options):
        call_command("run_huey", workers=workers, worker_type="thread", periodic=True)
