from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from nguon.audit.context import Origin, origin
from nguon.core.demo import DEMO_PASSWORD, demo_device_tokens, load_demo


class Command(BaseCommand):
    help = "Load Đồng Nai's units, demo organisations and one demo account per role; print how to sign in."

    def add_arguments(self, parser):
        parser.add_argument(
            "--centre",
            action="store_true",
            help="Load a demo central instance instead (one national unit, an editor and an approver).",
        )

    def handle(self, *args, **options):
        if options["centre"]:
            return self._centre()
        with origin(Origin(channel="cli:demo")):
            accounts = load_demo()
        self.stdout.write(self.style.SUCCESS(_("Demo accounts (password for all: %(pw)s)") % {"pw": DEMO_PASSWORD}))
        for account in accounts:
            self.stdout.write(f"  {account.username:<18} {account.role} · {account.unit}")
        self.stdout.write(
            _(
                "Administrators and approvers also need a TOTP code: add the otpauth:// link below to an "
                "authenticator app, or run `nguon totp USERNAME` to print the current code."
            )
        )
        for account in accounts:
            if account.otp_uri:
                self.stdout.write(f"  {account.username}: {account.otp_uri}")
        count = demo_device_tokens(settings.DATA_DIR / "demo-device-tokens.jsonl")
        self.stdout.write(
            _("%(n)d demo devices: `nguon serve --with-devices` runs them as simulated receivers.") % {"n": count}
        )

    def _centre(self) -> None:
        from nguon.central.demo import load_centre_demo

        with origin(Origin(channel="cli:demo")):
            accounts = load_centre_demo(DEMO_PASSWORD)
        self.stdout.write(self.style.SUCCESS(_("Demo accounts (password for all: %(pw)s)") % {"pw": DEMO_PASSWORD}))
        for username, role, uri in accounts:
            self.stdout.write(f"  {username:<18} {role}")
            if uri:
                self.stdout.write(f"  {username}: {uri}")
