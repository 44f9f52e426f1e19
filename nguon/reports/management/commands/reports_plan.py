from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from nguon.reports import rollup

MAX_DAYS = 400


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"not a date (YYYY-MM-DD): {text}") from None


class Command(BaseCommand):
    help = (
        "Set the planned items and airtime of every active device from the schedules, for each day of a range "
        "(default: today). The worker does today every hour and yesterday once after midnight; use this after "
        "changing the schedules of past days or restoring a database. Schedules are read as they are now."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", help="first day, YYYY-MM-DD (default: today)")
        parser.add_argument("--to", dest="last", help="last day, YYYY-MM-DD (default: --from)")

    def handle(self, *args, first, last, **options):
        first = _day(first) if first else timezone.localdate()
        last = _day(last) if last else first
        if last < first:
            raise CommandError("--to is before --from")
        days = (last - first).days + 1
        if days > MAX_DAYS:
            raise CommandError(f"at most {MAX_DAYS} days at once")
        for index in range(days):
            day = first + timedelta(days=index)
            devices = rollup.plan_day(day)
            self.stdout.write(f"[{index + 1}/{days}] {day}: {devices} devices planned")
