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


# Every audit row any test writes is read back as a person would see it at the end of the session: an action or a
# `changes` key without a Vietnamese label (see nguon/audit/labels.py) fails the run, naming it and the test.
_AUDIT_SAMPLES: dict[tuple[str, tuple[str, ...]], tuple[object, str]] = {}
_CURRENT_TEST = {"id": ""}


def pytest_runtest_setup(item):
    _CURRENT_TEST["id"] = item.nodeid


@pytest.fixture(autouse=True, scope="session")
def _collect_audit_rows(django_db_blocker):
    from django.db.models.signals import post_save

    from nguon.audit.models import AuditEvent

    def collect(sender, instance, created, **kwargs):
        if not created or instance.action.startswith("test."):  # tests' own made-up actions
            return
        keys = tuple(sorted(instance.changes)) if isinstance(instance.changes, dict) else ()
        _AUDIT_SAMPLES.setdefault((instance.action, keys), (instance.changes, _CURRENT_TEST["id"]))

    post_save.connect(collect, sender=AuditEvent, dispatch_uid="test_collect_audit_rows")
    yield
    post_save.disconnect(sender=AuditEvent, dispatch_uid="test_collect_audit_rows")


def pytest_sessionfinish(session, exitstatus):
    if not _AUDIT_SAMPLES:
        return
    from django.utils import translation

    from nguon.audit.display import change_rows
    from nguon.audit.labels import action_label

    problems = []
    with translation.override("vi"):
        for (action, _keys), (changes, test_id) in sorted(_AUDIT_SAMPLES.items()):
            if not action_label(action)[1]:
                problems.append(f"action {action!r} (written by {test_id})")
            for row in change_rows(action, changes):  # also proves every stored shape renders
                if not row.known:
                    problems.append(f"field {action}:{row.key} (written by {test_id})")
    if problems:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        text = "audit rows without a Vietnamese label (add them to <app>/audit_labels.py):\n  " + "\n  ".join(problems)
        if reporter is not None:
            reporter.write_sep("=", "audit labels missing", red=True)
            reporter.write_line(text, red=True)
        session.exitstatus = 1
