import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from nguon.core.demo import demo_usernames


class Command(BaseCommand):
    help = "Print the current TOTP code of a demo account (demo accounts only)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        if username not in demo_usernames():
            raise CommandError(_("Only demo accounts can have their code printed."))
        device = TOTPDevice.objects.filter(user__username=username, confirmed=True).first()
        if device is None:
            raise CommandError(_("This account has no authenticator."))
        code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift)
        remaining = device.step - int(time.time()) % device.step
        self.stdout.write(f"{code:0{device.digits}d}  ({_('valid for about %(s)d s') % {'s': remaining}})")
