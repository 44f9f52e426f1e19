from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from nguon.audit.actions import verify_chain
from nguon.audit.context import Origin, origin

# Marked for extraction; translated when printed.
REASONS = {
    "edited": gettext_noop("row was edited"),
    "unlinked": gettext_noop("row before it is missing or was reordered"),
    "head_mismatch": gettext_noop("rows at the end are missing"),
    "anchor_missing": gettext_noop("a row seen by an earlier check is gone"),
    "not_in_chain": gettext_noop("row was added outside the chain"),
}


class Command(BaseCommand):
    help = "Audit log tools: `audit verify` recomputes the hash chain and reports any edited or missing row."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("verify", help="verify the hash chain (exit status 1 when it is broken)")

    def handle(self, *args, subcommand, **options):
        with origin(Origin(channel="cli:audit")):
            result = verify_chain(record=True)
        if result.ok:
            self.stdout.write(self.style.SUCCESS(_("Audit chain intact: %(n)d rows checked.") % {"n": result.checked}))
            return
        for problem in result.problems:
            self.stderr.write(
                _("Row %(id)s: %(reason)s") % {"id": problem["event_id"], "reason": _(REASONS[problem["reason"]])}
            )
        raise CommandError(_("Audit chain BROKEN: %(n)d problem(s) found.") % {"n": len(result.problems)})
