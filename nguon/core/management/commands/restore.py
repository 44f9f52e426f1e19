from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from nguon.core.backup import BackupError, restore, verify


class Command(BaseCommand):
    help = (
        "Restore a backup made by `nguon backup` into this instance (its NGUON_DATA_DIR and database). Every "
        "checksum is checked first; an instance that already holds data is refused unless --force. Stop the "
        "server and the worker first, and run `nguon migrate` after. See docs/deploy.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", type=Path, help="backup directory")
        parser.add_argument("--force", action="store_true", help="replace the data this instance already holds")
        parser.add_argument("--check", action="store_true", help="only check the backup's checksums; change nothing")

    def handle(self, *args, source, force, check, **options):
        progress = lambda text: self.stderr.write(text)  # noqa: E731
        try:
            if check:
                manifest = verify(source, progress=progress)
                self.stdout.write(
                    self.style.SUCCESS(
                        _("The backup in %(path)s is whole: %(n)d files match their checksums (made %(at)s).")
                        % {"path": source, "n": len(manifest["files"]), "at": manifest["created_at"]}
                    )
                )
                return
            result = restore(source, force=force, progress=progress)
        except BackupError as exc:
            for problem in exc.problems[:50]:
                self.stderr.write(f"  {problem}")
            if len(exc.problems) > 50:
                self.stderr.write(_("  … and %(n)d more") % {"n": len(exc.problems) - 50})
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(_("The restore failed: %(error)s") % {"error": exc}) from None
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Restored: the %(engine)s database, %(n)d media files, keys: %(keys)s. Next: `nguon migrate`, then "
                    "start the server."
                )
                % {"engine": result.engine, "n": result.media_files, "keys": ", ".join(result.keys) or "-"}  # fmt: skip
            )
        )
