from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from nguon.core.backup import BackupError, backup


class Command(BaseCommand):
    help = (
        "Back up this instance while it runs: the database (SQLite's backup API, or pg_dump), the media files and "
        "the keys, into DEST with a manifest of checksums. DEST is new or empty, or an earlier backup (then only "
        "new media files are copied). See docs/deploy.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("dest", type=Path, help="backup directory")

    def handle(self, *args, dest, **options):
        try:
            result = backup(dest, progress=lambda text: self.stderr.write(text))
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(_("The backup failed: %(error)s") % {"error": exc}) from None
        self.stdout.write(
            self.style.SUCCESS(
                _("Backup in %(path)s: database %(db)s bytes, %(n)d media files (%(copied)d new), keys: %(keys)s.")
                % {
                    "path": result.path,
                    "db": f"{result.database_bytes:,}",
                    "n": result.media_files,
                    "copied": result.media_copied,
                    "keys": ", ".join(result.keys) or "-",
                }
            )
        )
