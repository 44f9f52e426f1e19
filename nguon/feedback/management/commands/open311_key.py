from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from nguon.audit.context import Origin, origin
from nguon.core.errors import DomainError
from nguon.feedback.open311.keys import issue_key
from nguon.units.models import Unit


class Command(BaseCommand):
    help = "Issue an Open311 API key for a partner app; prints the key alone on the first line of stdout, once."

    def add_arguments(self, parser):
        parser.add_argument("name", help="The partner app or organisation")
        parser.add_argument("--unit", help="Official code of the unit its requests must be about (default: anywhere)")
        parser.add_argument("--contact", default="", help="Who to call about the key")
        parser.add_argument("--read-only", action="store_true", help="The key may not submit requests")

    def handle(self, *args, **options):
        unit = None
        if options["unit"]:
            unit = Unit.objects.filter(code=options["unit"]).first()
            if unit is None:
                raise CommandError(_("No unit with code %(code)s.") % {"code": options["unit"]})
        try:
            with origin(Origin(channel="cli:open311_key")):
                key, plain = issue_key(
                    options["name"], unit=unit, can_submit=not options["read_only"], contact=options["contact"]
                )
        except DomainError as exc:
            problems = [str(p) for items in exc.fields.values() for p in items] or [str(exc.message)]
            raise CommandError(" ".join(problems)) from None
        # The key alone on stdout, so that a script can capture it; the explanation goes to stderr.
        self.stdout.write(plain)
        self.stderr.write(
            _("Key issued for %(name)s (prefix %(prefix)s). It is shown once and stored hashed.")
            % {"name": key.name, "prefix": key.prefix}
        )
