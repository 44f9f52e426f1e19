"""A demo central instance: the national level as one unit, with an editor and an approver, to try the link.

`nguon demo --centre` loads it into its own data directory (`make centre` does it all: see docs/central.md).
"""

from __future__ import annotations

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from nguon.accounts.actions import do_create_user, do_grant_role
from nguon.accounts.models import User
from nguon.accounts.roles import Role
from nguon.units.models import Unit, UnitType

CENTRE_CODE = "00"
CENTRE_USERS = [
    ("tw.bientap", "Đỗ Văn Trung", Role.EDITOR),
    ("tw.pheduyet", "Ngô Thị Ương", Role.APPROVER),
]


def load_centre_demo(password: str) -> list[tuple[str, str, str | None]]:
    """Create the central unit and its two accounts if missing; return (username, role, otpauth URI)."""
    with transaction.atomic():
        level, _created = UnitType.objects.get_or_create(
            slug="trung-uong", defaults={"name": "Trung ương", "name_en": "Central", "level": 0}
        )
        unit = Unit.objects.filter(code=CENTRE_CODE).first() or Unit.objects.create(
            code=CENTRE_CODE, name="Trung ương", name_en="Central level", unit_type=level
        )
        accounts = []
        for username, full_name, role in CENTRE_USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = do_create_user(
                    username=username,
                    password=password,
                    unit=unit,
                    full_name=full_name,
                    email=f"{username}@example.org",
                    acting_user=None,
                )
                do_grant_role(user, role=role, unit=unit, acting_user=None)
            uri = None
            if user.requires_two_factor():
                device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
                device = device or TOTPDevice.objects.create(user=user, name="Demo", confirmed=True)
                uri = device.config_url
            accounts.append((username, str(role.label), uri))
    return accounts
