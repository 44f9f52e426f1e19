from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from nguon.alerts.actions import do_add_sender
from nguon.audit.context import Origin, origin
from nguon.core.errors import DomainError
from nguon.units.models import Unit


class Command(BaseCommand):
    help = "Register a system trusted to POST CAP 1.2 alerts to /api/v1/alerts/cap; prints its token once."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Who it is, e.g. the national disaster agency")
        parser.add_argument("cap_sender", help="The <sender> value its CAP messages carry")
        parser.add_argument("--unit", required=True, help="Official code of the unit its alerts are approved at")

    def handle(self, *args, **options):
        unit = Unit.objects.filter(code=options["unit"]).first()
        if unit is None:
            raise CommandError(_("No unit with code %(code)s.") % {"code": options["unit"]})
        try:
            with origin(Origin(channel="cli:alert_sender")):
                sender, token = do_add_sender(name=options["name"], cap_sender=options["cap_sender"], unit=unit)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None
        self.stdout.write(self.style.SUCCESS(_("Trusted sender %(name)s registered.") % {"name": sender.name}))
        self.stdout.write(_("Its token (shown once, keep it secret): %(token)s") % {"token": token})
        self.stdout.write(_("It sends: POST /api/v1/alerts/cap with Authorization: Bearer <token>, body = CAP XML."))
