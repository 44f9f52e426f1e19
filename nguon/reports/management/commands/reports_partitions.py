from django.core.management.base import BaseCommand, CommandError

from nguon.reports import partitions


def _size(size: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1024:
            return f"{size:.0f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


class Command(BaseCommand):
    help = (
        "Raw device report records (heartbeats, plays, logs, alert receipts): show their monthly partitions "
        "(PostgreSQL) or rows, create the months ahead, or drop what is older than NGUON_REPORT_RAW_RETENTION_DAYS "
        "(report figures come from the roll-ups and are not touched). The worker does ensure and drop-expired daily."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", nargs="?", default="show", choices=["show", "ensure", "drop-expired"])
        parser.add_argument("--months-ahead", type=int, default=2, help="ensure: months to create after this one")
        parser.add_argument(
            "--retention-days",
            type=int,
            default=None,
            help=f"drop-expired: days to keep (default: the setting; at least {partitions.MIN_RETENTION_DAYS})",
        )
        parser.add_argument("--dry-run", action="store_true", help="drop-expired: say what would go, change nothing")

    def handle(self, *args, action, months_ahead, retention_days, dry_run, **options):
        if action == "ensure":
            if not 0 <= months_ahead <= 24:
                raise CommandError("--months-ahead must be between 0 and 24")
            created = partitions.ensure_partitions(months_ahead=months_ahead)
            self.stdout.write("\n".join(f"created {name}" for name in created) or "nothing to create")
        elif action == "drop-expired":
            if retention_days is not None and retention_days < partitions.MIN_RETENTION_DAYS:
                raise CommandError(f"--retention-days must be at least {partitions.MIN_RETENTION_DAYS}")
            verb = "would drop" if dry_run else "dropped"
            for expired in partitions.drop_expired(retention_days, dry_run=dry_run):
                names = ", ".join(expired.partitions) or "no partition"
                self.stdout.write(f"{expired.table}: {verb} {names}; about {expired.rows} rows")
        else:
            self._show()

    def _show(self):
        self.stdout.write(f"retention: {partitions.retention_days()} days")
        for status in partitions.summary():
            kind = "partitioned by month" if status.partitioned else "not partitioned"
            oldest = status.oldest.isoformat() if status.oldest else "-"
            self.stdout.write(f"{status.table} ({kind}): about {status.rows} rows, oldest received {oldest}")
            for part in status.partitions:
                span = "default" if part.is_default else f"{part.start:%Y-%m-%d} .. {part.end:%Y-%m-%d}"
                self.stdout.write(f"  {part.name:<40} {span:<24} ~{part.rows:>12} rows {_size(part.size):>10}")
