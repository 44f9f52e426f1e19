from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from nguon.audit.context import Origin, origin
from nguon.central.exchange import import_path
from nguon.central.exchange_cli import parent_link
from nguon.core.errors import DomainError


class Command(BaseCommand):
    help = "Apply messages from the level above (a JSON file or a directory of them); all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("path", help="A message file, or a directory (with its manifest.json when there is one)")
        parser.add_argument("--link", help="Name or id of the parent link (when there are several)")

    def handle(self, *args, **options):
        link = parent_link(options.get("link"))
        try:
            with origin(Origin(channel="cli:central_import")):
                result = import_path(link, Path(options["path"]))
        except DomainError as exc:
            raise CommandError(_("Nothing was applied. %(why)s") % {"why": exc.message}) from None
        self.stdout.write(
            _("%(applied)d message(s) applied, %(repeated)d received before.")
            % {"applied": len(result.applied), "repeated": len(result.repeated)}
        )
