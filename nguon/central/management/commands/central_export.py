from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from nguon.audit.context import Origin, origin
from nguon.central.exchange import export_messages
from nguon.central.exchange_cli import parent_link
from nguon.core.errors import DomainError


class Command(BaseCommand):
    help = "Write the messages pending for the level above as JSON files with a manifest (docs/central.md)."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="A new or empty directory for the files")
        parser.add_argument("--link", help="Name or id of the parent link (when there are several)")
        parser.add_argument("--all", action="store_true", help="Also write messages delivered before")

    def handle(self, *args, **options):
        link = parent_link(options.get("link"))
        try:
            with origin(Origin(channel="cli:central_export")):
                result = export_messages(link, Path(options["out"]), include_delivered=options["all"])
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None
        self.stdout.write(_("%(n)d message(s) written to %(dir)s.") % {"n": len(result.files), "dir": result.directory})
