"""`nguon demo --centre`: the demo central instance's unit and accounts, loaded once however often it runs."""

from io import StringIO

from django.core.management import call_command

from nguon.accounts.models import User
from nguon.central.demo import CENTRE_CODE
from nguon.units.models import Unit


def test_the_demo_centre_has_its_unit_and_accounts_once(db):
    for _ in range(2):
        out = StringIO()
        call_command("demo", "--centre", stdout=out)
    assert Unit.objects.filter(code=CENTRE_CODE).count() == 1
    users = User.objects.filter(username__in=["tw.bientap", "tw.pheduyet"])
    assert users.count() == 2
    assert all(u.grants.filter(unit__code=CENTRE_CODE).exists() for u in users)
    assert "otpauth://" in out.getvalue()  # the approver needs a TOTP code
    assert not Unit.objects.filter(code="75").exists()  # a centre is not a province
