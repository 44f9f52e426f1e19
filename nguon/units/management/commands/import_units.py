from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from nguon.audit.context import Origin, origin
from nguon.core.errors import DomainError
from nguon.units.actions import do_import_units
from nguon.units.sources import load_from_file, load_from_package


class Command(BaseCommand):
    help = "Load or refresh a province's official units (idempotent; reports what changed)."

    def add_arguments(self, parser):
        parser.add_argument("--province", required=True, help="official province code, e.g. 75 for Đồng Nai")
        parser.add_argument("--file", type=Path, help="a nested-divisions JSON file instead of the package data")
        parser.add_argument("--dry-run", action="store_true", help="report the changes without saving them")

    def handle(self, *args, province, file, dry_run, **options):
        try:
            data = load_from_file(file, province) if file else load_from_package(province)
            with origin(Origin(channel="cli:import_units")):
                report = do_import_units(data, dry_run=dry_run)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None
        self.stdout.write(
            _("%(province)s (%(code)s), %(communes)d communes, source: %(source)s")
            % {
                "province": data.province.name,
                "code": data.province.code,
                "communes": len(data.wards),
                "source": data.source,
            }
        )
        for label, codes in (
            (_("created"), report.created),
            (_("updated"), report.updated),
            (_("retired"), report.retired),
        ):
            if codes:
                self.stdout.write(f"  {label}: {len(codes)} ({', '.join(codes[:20])}{' …' if len(codes) > 20 else ''})")
        self.stdout.write(f"  {_('unchanged')}: {report.unchanged}")
        if not report.changed:
            self.stdout.write(self.style.SUCCESS(_("No change.")))
        elif dry_run:
            self.stdout.write(self.style.WARNING(_("Dry run: nothing was saved.")))
        else:
            self.stdout.write(self.style.SUCCESS(_("Saved.")))
