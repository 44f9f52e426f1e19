"""The shared cast for tests: a province, two communes, and one account per kind of user."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from nguon.accounts.actions import do_create_user, do_grant_role
from nguon.accounts.models import User
from nguon.accounts.roles import Role
from nguon.units.actions import ensure_unit_types
from nguon.units.models import Unit

PASSWORD = "a-long-test-password-1"


@dataclass
class Cast:
    province: Unit
    commune: Unit
    other_commune: Unit
    province_admin: User
    province_editor: User
    approver: User
    commune_admin: User
    commune_editor: User
    outsider: User  # an account with no role anywhere


def make_user(username: str, unit: Unit, role: Role | None = None) -> User:
    user = do_create_user(username=username, password=PASSWORD, unit=unit, full_name=username, acting_user=None)
    if role:
        do_grant_role(user, role=role, unit=unit, acting_user=None)
    return user


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


def give_totp(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="test", confirmed=True)


@pytest.fixture
def cast(db) -> Cast:
    types = ensure_unit_types()
    province = Unit.objects.create(code="75", name="Đồng Nai", unit_type=types["tinh"])
    commune = Unit.objects.create(code="26068", name="Phường Biên Hòa", unit_type=types["phuong"], parent=province)
    other = Unit.objects.create(code="26041", name="Phường Trấn Biên", unit_type=types["phuong"], parent=province)
    return Cast(
        province=province,
        commune=commune,
        other_commune=other,
        province_admin=make_user("admin.tinh", province, Role.ADMIN),
        province_editor=make_user("editor.tinh", province, Role.EDITOR),
        approver=make_user("approver.tinh", province, Role.APPROVER),
        commune_admin=make_user("admin.bienhoa", commune, Role.ADMIN),
        commune_editor=make_user("editor.bienhoa", commune, Role.EDITOR),
        outsider=make_user("outsider", other),
    )


def signed_in(user: User) -> Client:
    """A client with a real password sign-in, passing TOTP when the user's role requires it."""
    client = Client(enforce_csrf_checks=False)
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    if user.requires_two_factor():
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or give_totp(user)
        response = client.post("/accounts/2fa/verify/", {"token": current_code(device)})
        assert response.status_code == 302, response.content[:500]
    return client


@pytest.fixture
def client_for():
    return signed_in
