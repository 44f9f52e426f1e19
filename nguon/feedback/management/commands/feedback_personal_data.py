import json

from django.core.management.base import BaseCommand, CommandError

from nguon.audit.context import Origin, origin
from nguon.core.errors import DomainError
from nguon.feedback.privacy import do_export_personal_data


class Command(BaseCommand):
    help = (
        "Print, as JSON, every feedback a person gave (by e-mail address or phone number): their texts, dates, "
        "statuses and answers. With --erase, their contact details are then erased. Both are audited."
    )

    def add_arguments(self, parser):
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--email", default="", help="The person's e-mail address")
        who.add_argument("--phone", default="", help="The person's phone number (spaces and +84 allowed)")
        parser.add_argument("--erase", action="store_true", help="Erase their name, phone and e-mail afterwards")

    def handle(self, *args, **options):
        try:
            with origin(Origin(channel="cli:feedback_personal_data")):
                records = do_export_personal_data(
                    email=options["email"], phone=options["phone"], erase=options["erase"]
                )
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None
        self.stdout.write(json.dumps(records, ensure_ascii=False, indent=2))
