from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from nguon.audit.context import Origin, origin
from nguon.reports import partitions, rollup


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"not a date (YYYY-MM-DD): {text}") from None


class Command(BaseCommand):
    help = (
        "Recompute the roll-ups' counted figures (plays, airtime, online minutes, faults, alerts) from the raw "
        "records, month by month, e.g. after importing records or to check them. Planned figures are left alone "
        "(see reports_plan). Days whose raw records were already dropped (NGUON_REPORT_RAW_RETENTION_DAYS) are "
        "refused: rebuilding them would set their figures to zero."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="last", required=True, help="last day, YYYY-MM-DD")
        parser.add_argument(
            "--force", action="store_true", help="rebuild days older than the raw records' retention too"
        )

    def handle(self, *args, first, last, force, **options):
        first, last = _day(first), _day(last)
        today = timezone.localdate()
        last = min(last, today)
        if last < first:
            raise CommandError("--to is before --from")
        kept_from = today - timedelta(days=partitions.retention_days())
        if first < kept_from and not force:
            raise CommandError(
                f"raw records before {kept_from} may have been dropped (retention {partitions.retention_days()} "
                f"days); rebuilding those days would zero their figures. Use --from {kept_from} or --force."
            )
        months = []
        start = first
        while start <= last:
            end = min((start.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1), last)
            months.append((start, end))
            start = end + timedelta(days=1)
        total = 0
        with origin(Origin(channel="cli:reports_rebuild")):
            for index, (start, end) in enumerate(months, start=1):
                counted = rollup.rebuild(start, end)
                total += counted
                self.stdout.write(f"[{index}/{len(months)}] {start} .. {end}: {counted} device-days counted")
        self.stdout.write(self.style.SUCCESS(f"rebuilt {first} .. {last}: {total} device-days"))
