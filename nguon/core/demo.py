"""Demo data: Đồng Nai's units, a few organisations and one account per role, for a first look."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from nguon.accounts.actions import do_create_user, do_grant_role
from nguon.accounts.models import User
from nguon.accounts.roles import Role
from nguon.units.actions import do_create_organisation, do_import_units
from nguon.units.models import Organisation, OrganisationKind, Unit
from nguon.units.sources import load_from_package

# Published on purpose: demo accounts are for trying the system, and a deploy check warns while they exist.
DEMO_PASSWORD = "nguon-demo-2026"
PROVINCE = "75"
COMMUNE = "26068"  # Phường Biên Hòa


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    role: Role
    unit_code: str


DEMO_USERS = [
    DemoUser("quantri", "Nguyễn Văn Quản", Role.ADMIN, PROVINCE),
    DemoUser("pheduyet", "Trần Thị Duyệt", Role.APPROVER, PROVINCE),
    DemoUser("bientap", "Lê Văn Biên", Role.EDITOR, PROVINCE),
    DemoUser("bientap.bienhoa", "Phạm Thị Hoa", Role.EDITOR, COMMUNE),
    DemoUser("vanhanh.bienhoa", "Võ Văn Hành", Role.OPERATOR, COMMUNE),
    DemoUser("kythuat", "Đặng Văn Thuật", Role.TECHNICIAN, PROVINCE),
    DemoUser("lanhdao", "Hoàng Thị Đạo", Role.VIEWER, PROVINCE),
]

DEMO_ORGANISATIONS = [
    (PROVINCE, "Ủy ban nhân dân tỉnh Đồng Nai", OrganisationKind.PEOPLES_COMMITTEE),
    (PROVINCE, "Sở Văn hóa, Thể thao và Du lịch", OrganisationKind.DEPARTMENT),
    (PROVINCE, "Báo và Phát thanh, Truyền hình Đồng Nai", OrganisationKind.PRESS),
    (COMMUNE, "Ủy ban nhân dân phường Biên Hòa", OrganisationKind.PEOPLES_COMMITTEE),
    (COMMUNE, "Đài truyền thanh phường Biên Hòa", OrganisationKind.RADIO_STATION),
    ("26041", "Ủy ban nhân dân phường Trấn Biên", OrganisationKind.PEOPLES_COMMITTEE),
]


@dataclass
class DemoAccount:
    username: str
    role: str
    unit: str
    otp_uri: str | None


def load_demo() -> list[DemoAccount]:
    """Create what is missing (idempotent) and return the demo accounts."""
    if not Unit.objects.filter(code=PROVINCE).exists():
        do_import_units(load_from_package(PROVINCE))
    units = {u.code: u for u in Unit.objects.filter(code__in={PROVINCE, COMMUNE, "26041"})}
    with transaction.atomic():
        for code, name, kind in DEMO_ORGANISATIONS:
            if not Organisation.objects.filter(unit=units[code], name=name).exists():
                do_create_organisation(units[code], acting_user=None, name=name, kind=kind)
        accounts = []
        for demo in DEMO_USERS:
            user = User.objects.filter(username=demo.username).first()
            if user is None:
                user = do_create_user(
                    username=demo.username,
                    password=DEMO_PASSWORD,
                    unit=units[demo.unit_code],
                    full_name=demo.full_name,
                    acting_user=None,
                )
                do_grant_role(user, role=demo.role, unit=units[demo.unit_code], acting_user=None)
            otp_uri = None
            if user.requires_two_factor():
                device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
                if device is None:
                    device = TOTPDevice.objects.create(user=user, name="Demo", confirmed=True)
                otp_uri = device.config_url
            accounts.append(DemoAccount(demo.username, demo.role.label, units[demo.unit_code].name, otp_uri))
    return accounts


def demo_usernames() -> set[str]:
    return {d.username for d in DEMO_USERS}
