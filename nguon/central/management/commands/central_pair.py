"""Pair from the command line: on the parent, create a one-time code; on the child, use it."""

from django.core.management.base import BaseCommand, CommandError

from nguon.central import actions
from nguon.core.errors import DomainError


class Command(BaseCommand):
    help = (
        "Pair with a parent instance: `central_pair URL CODE` (on the child). "
        "Create a one-time code for a child: `central_pair --code-for NAME` (on the parent)."
    )

    def add_arguments(self, parser):
        parser.add_argument("url", nargs="?", help="the parent's base URL, e.g. https://nguon.example.gov.vn")
        parser.add_argument("code", nargs="?", help="the pairing code the parent's administrator gave")
        parser.add_argument("--code-for", metavar="NAME", help="create a pairing code for a child named NAME")

    def handle(self, *args, url, code, code_for, **options):
        try:
            if code_for:
                link, new_code = actions.do_create_pairing_code(code_for, acting_user=None)
                # The code alone on stdout, so scripts can capture it; the rest on stderr.
                self.stderr.write(f"Pairing code for {link.name} (single use, 24 h):")
                self.stdout.write(new_code)
                return
            if not (url and code):
                raise CommandError("give URL and CODE, or --code-for NAME")
            link = actions.do_pair_with_parent(url, code, acting_user=None)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        self.stdout.write(f"Paired with {link.name} ({link.peer_instance_id}, unit {link.peer_unit_code}).")
