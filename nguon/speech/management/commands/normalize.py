import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from nguon.speech.normalize import normalize_with_report


class Command(BaseCommand):
    help = "Print a text as the speech engine will read it (Vietnamese normalisation for text-to-speech)."

    def add_arguments(self, parser):
        parser.add_argument("text", nargs="*", help="the text; read from standard input when absent or '-'")
        parser.add_argument(
            "--report",
            action="store_true",
            help="also list the acronyms spelled letter by letter and the characters dropped",
        )

    def handle(self, *args, text, report, **options):
        source = sys.stdin.read() if not text or text == ["-"] else " ".join(text)
        result = normalize_with_report(source)
        if not result.text:
            raise CommandError(_("There is nothing to read aloud in this text."))
        self.stdout.write(result.text)
        if report:
            if result.spelled:
                self.stdout.write(_("Spelled letter by letter: %(items)s") % {"items": ", ".join(result.spelled)})
            if result.removed:
                self.stdout.write(_("Dropped: %(items)s") % {"items": " ".join(result.removed)})
