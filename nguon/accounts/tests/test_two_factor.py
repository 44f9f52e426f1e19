"""Two-factor sign-in for administrators and approvers, and the password lockout."""

from __future__ import annotations

import time

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from nguon.audit.models import AuditEvent
from nguon.conftest import PASSWORD, current_code, give_totp

TWO_FACTOR_USERS = ["province_admin", "approver", "commune_admin"]
VERIFY = "/accounts/2fa/verify/"
SETUP = "/accounts/2fa/setup/"


def password_only(user) -> Client:
    """Sign in with the password and stop before the second factor."""
    client = Client()
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def code_at(device: TOTPDevice, when: float) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = when
    return f"{totp.token():0{device.digits}d}"


def wrong_code(device: TOTPDevice) -> str:
    """A six-digit code that the device accepts at no step near now."""
    now = time.time()
    near = {code_at(device, now + k * device.step) for k in range(-3, 4)}
    return next(c for c in ("000000", "111111", "123456", "999999") if c not in near)


def expired_code(device: TOTPDevice, minutes: int = 10) -> str:
    """The code the app showed about `minutes` ago (skipping any that happens to equal a code valid now)."""
    now = time.time()
    near = {code_at(device, now + k * device.step) for k in range(-3, 4)}
    for extra in range(20):
        code = code_at(device, now - minutes * 60 - extra * device.step)
        if code not in near:
            return code
    raise AssertionError("no distinct past code")


def assert_unverified(client: Client, *, has_device: bool = True):
    target = VERIFY if has_device else SETUP
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(target)
    response = client.get("/api/v1/units/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "two_factor_required"


def assert_verified(client: Client):
    assert client.get("/").status_code == 200
    response = client.get("/api/v1/accounts/me")
    assert response.status_code == 200
    assert response.json()["two_factor_verified"] is True


# --- Being sent to the second factor ---------------------------------------------------------------


@pytest.mark.parametrize("who", TWO_FACTOR_USERS)
def test_password_sign_in_leads_to_verify(cast, who):
    user = getattr(cast, who)
    give_totp(user)
    client = Client()
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0].startswith(VERIFY)
    assert response.status_code == 200
    assert "form" in response.context


@pytest.mark.parametrize("who", TWO_FACTOR_USERS)
def test_password_sign_in_without_device_leads_to_setup(cast, who):
    client = Client()
    user = getattr(cast, who)
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0].startswith(SETUP)
    assert response.status_code == 200
    assert_unverified(client, has_device=False)
    # The verify page sends a user with no authenticator to set one up.
    response = client.get(VERIFY)
    assert response.status_code == 302
    assert response["Location"].startswith(SETUP)


@pytest.mark.parametrize("who", TWO_FACTOR_USERS)
@pytest.mark.parametrize(
    "url",
    ["/", "/units/", "/units/26068/", "/accounts/users/", "/audit/", "/api/v1/units/", "/api/v1/accounts/me"],
)
def test_nothing_is_reachable_before_verification(cast, who, url):
    give_totp(getattr(cast, who))
    client = password_only(getattr(cast, who))
    response = client.get(url)
    if url.startswith("/api/"):
        assert response.status_code == 403
        assert response["Content-Type"].startswith("application/json")
        assert response.json()["error"]["code"] == "two_factor_required"
    else:
        assert response.status_code == 302
        assert response["Location"].startswith(f"{VERIFY}?next=")


@pytest.mark.parametrize("who", TWO_FACTOR_USERS)
def test_writes_are_blocked_before_verification(cast, who):
    give_totp(getattr(cast, who))
    client = password_only(getattr(cast, who))
    response = client.patch("/api/v1/units/26068", data='{"name": "Chưa xác thực"}', content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "two_factor_required"
    response = client.post("/units/26068/edit/", {"name": "Chưa xác thực"})
    assert response.status_code == 302
    cast.commune.refresh_from_db()
    assert cast.commune.name == "Phường Biên Hòa"


@pytest.mark.parametrize("who", ["province_editor", "commune_editor", "outsider"])
def test_other_roles_need_no_second_factor(cast, who):
    client = password_only(getattr(cast, who))
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/units/").status_code == 200
    assert not TOTPDevice.objects.filter(user=getattr(cast, who)).exists()


# --- Verifying -------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", TWO_FACTOR_USERS)
def test_right_code_verifies_and_returns_to_next(cast, who):
    user = getattr(cast, who)
    device = give_totp(user)
    client = password_only(user)
    response = client.get("/units/26068/")
    assert response["Location"] == f"{VERIFY}?next=%2Funits%2F26068%2F"

    response = client.post(f"{VERIFY}?next=/units/26068/", {"token": current_code(device), "next": "/units/26068/"})

    assert response.status_code == 302
    assert response["Location"] == "/units/26068/"
    assert_verified(client)
    assert AuditEvent.objects.filter(action="accounts.totp_verified", actor=user).count() == 1


def test_code_with_spaces_is_accepted(cast):
    device = give_totp(cast.approver)
    client = password_only(cast.approver)
    code = current_code(device)
    response = client.post(VERIFY, {"token": f"{code[:3]} {code[3:]}"})
    assert response.status_code == 302
    assert_verified(client)


@pytest.mark.parametrize("target", ["https://evil.example.org/", "//evil.example.org/x"])
def test_next_cannot_leave_the_site(cast, target):
    device = give_totp(cast.approver)
    client = password_only(cast.approver)
    response = client.post(VERIFY, {"token": current_code(device), "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize("who", TWO_FACTOR_USERS)
def test_wrong_code_is_refused(cast, who):
    user = getattr(cast, who)
    device = give_totp(user)
    client = password_only(user)

    response = client.post(VERIFY, {"token": wrong_code(device)})

    assert response.status_code == 200
    assert response.context["form"].errors["token"]
    html = response.content.decode()
    assert 'class="field-error"' in html
    assert 'lang="vi"' in html
    assert_unverified(client)
    assert AuditEvent.objects.filter(action="accounts.totp_failed", actor=user).count() == 1


@pytest.mark.parametrize("token", ["", "12", "abcdef"])
def test_malformed_code_is_refused(cast, token):
    give_totp(cast.approver)
    client = password_only(cast.approver)
    response = client.post(VERIFY, {"token": token})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert_unverified(client)


def test_expired_code_is_refused(cast):
    device = give_totp(cast.approver)
    client = password_only(cast.approver)

    response = client.post(VERIFY, {"token": expired_code(device, minutes=10)})

    assert response.status_code == 200
    assert response.context["form"].errors["token"]
    assert_unverified(client)


def test_code_typed_ten_minutes_late_is_refused(cast):
    device = give_totp(cast.approver)
    client = password_only(cast.approver)
    code = current_code(device)
    with time_machine.travel(time.time() + 10 * 60, tick=False):
        response = client.post(VERIFY, {"token": code})
        assert response.status_code == 200
        assert response.context["form"].errors["token"]
        assert_unverified(client)


def test_wrong_code_throttles_until_a_pause(cast):
    device = give_totp(cast.approver)
    client = password_only(cast.approver)
    start = time.time()
    with time_machine.travel(start, tick=False):
        assert client.post(VERIFY, {"token": wrong_code(device)}).status_code == 200
        # Straight after a failure even the right code waits (throttling).
        response = client.post(VERIFY, {"token": current_code(device)})
        assert response.status_code == 200
        assert response.context["form"].errors["token"]
        assert AuditEvent.objects.filter(action="accounts.totp_throttled", actor=cast.approver).exists()
        assert_unverified(client)
    with time_machine.travel(start + 60, tick=False):
        response = client.post(VERIFY, {"token": current_code(device)})
        assert response.status_code == 302
        assert_verified(client)


def test_a_code_cannot_be_used_twice(cast):
    device = give_totp(cast.approver)
    start = time.time()
    with time_machine.travel(start, tick=False):
        code = current_code(device)
        first = password_only(cast.approver)
        assert first.post(VERIFY, {"token": code}).status_code == 302
        second = password_only(cast.approver)
        response = second.post(VERIFY, {"token": code})
        assert response.status_code == 200
        assert response.context["form"].errors["token"]
        assert_unverified(second)
        assert_verified(first)


def test_signing_out_drops_the_verification(cast):
    device = give_totp(cast.approver)
    start = time.time()
    with time_machine.travel(start, tick=False):
        client = password_only(cast.approver)
        assert client.post(VERIFY, {"token": current_code(device)}).status_code == 302
        assert_verified(client)
        assert client.post("/accounts/logout/").status_code == 302
        assert client.get("/").status_code == 302
    with time_machine.travel(start + device.step * 2, tick=False):
        client.post("/accounts/login/", {"username": cast.approver.username, "password": PASSWORD})
        assert_unverified(client)


# --- Setting up an authenticator --------------------------------------------------------------------


@pytest.mark.parametrize("who", TWO_FACTOR_USERS)
def test_setup_flow(cast, who):
    user = getattr(cast, who)
    client = password_only(user)

    page = client.get(f"{SETUP}?next=/units/")
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    assert page.context["secret"]
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed is False
    # Reloading the page keeps the same pending device (the QR already scanned stays valid).
    assert client.get(SETUP).context["secret"] == page.context["secret"]
    assert TOTPDevice.objects.filter(user=user).count() == 1
    assert_unverified(client, has_device=False)

    response = client.post(SETUP, {"token": current_code(device), "next": "/units/"})

    assert response.status_code == 302
    assert response["Location"] == "/units/"
    device.refresh_from_db()
    assert device.confirmed is True
    assert_verified(client)
    assert AuditEvent.objects.filter(action="accounts.totp_enrolled", actor=user).count() == 1


def test_setup_with_wrong_code_stays_unverified(cast):
    client = password_only(cast.approver)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=cast.approver)

    response = client.post(SETUP, {"token": wrong_code(device)})

    assert response.status_code == 200
    assert response.context["form"].errors["token"]
    assert "<svg" in response.content.decode()
    device.refresh_from_db()
    assert device.confirmed is False
    assert_unverified(client, has_device=False)


def test_setup_with_expired_code_is_refused(cast):
    client = password_only(cast.approver)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=cast.approver)
    response = client.post(SETUP, {"token": expired_code(device)})
    assert response.status_code == 200
    assert response.context["form"].errors["token"]
    device.refresh_from_db()
    assert device.confirmed is False


def test_setup_cannot_replace_a_device_before_verification(cast):
    """A stolen password must not let anyone enrol their own authenticator over the owner's."""
    original = give_totp(cast.approver)
    client = password_only(cast.approver)

    response = client.get(SETUP)
    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY)

    # Even a pending device made some other way cannot be confirmed from an unverified session.
    intruder = TOTPDevice.objects.create(user=cast.approver, name="intruder", confirmed=False)
    response = client.post(SETUP, {"token": current_code(intruder)})
    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY)
    intruder.refresh_from_db()
    assert intruder.confirmed is False
    assert TOTPDevice.objects.filter(user=cast.approver, confirmed=True).get() == original
    assert_unverified(client)


def test_verified_user_can_replace_its_device(cast):
    old = give_totp(cast.approver)
    start = time.time()
    with time_machine.travel(start, tick=False):
        client = password_only(cast.approver)
        assert client.post(VERIFY, {"token": current_code(old)}).status_code == 302
        assert client.get(SETUP).status_code == 200
        new = TOTPDevice.objects.get(user=cast.approver, confirmed=False)
        assert client.post(SETUP, {"token": current_code(new)}).status_code == 302
    assert list(TOTPDevice.objects.filter(user=cast.approver)) == [new]
    assert TOTPDevice.objects.get(pk=new.pk).confirmed is True


# --- Password lockout (django-axes) ---------------------------------------------------------------


def test_lockout_settings():
    assert settings.AXES_FAILURE_LIMIT == settings.LOGIN_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == settings.LOCKOUT_MINUTES * 60


def test_lockout_after_repeated_failures(cast):
    user = cast.province_editor
    client = Client()
    limit = settings.AXES_FAILURE_LIMIT
    for attempt in range(1, limit + 1):
        response = client.post("/accounts/login/", {"username": user.username, "password": "wrong-password-123"})
        if attempt < limit:
            assert response.status_code == 200
            assert response.context["form"].errors
        else:
            assert response.status_code in (200, 429)

    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})

    assert response.status_code == 429
    assert client.get("/").status_code == 302  # still signed out
    assert client.get("/api/v1/units/").status_code == 401
    # A fresh client from the same address is refused too.
    response = Client().post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 429
    # Another account from the same address is not affected.
    assert password_only(cast.commune_editor).get("/").status_code == 200


def test_lockout_ends_after_the_cool_off(cast):
    user = cast.province_editor
    client = Client()
    start = time.time()
    with time_machine.travel(start, tick=False):
        for _attempt in range(settings.AXES_FAILURE_LIMIT):
            client.post("/accounts/login/", {"username": user.username, "password": "wrong-password-123"})
        assert client.post("/accounts/login/", {"username": user.username, "password": PASSWORD}).status_code == 429
    with time_machine.travel(start + settings.AXES_COOLOFF_TIME.total_seconds() + 60, tick=False):
        response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
        assert response.status_code == 302
        assert client.get("/").status_code == 200


def test_success_resets_the_failure_count(cast):
    user = cast.province_editor
    limit = settings.AXES_FAILURE_LIMIT
    for _attempt in range(limit - 1):
        Client().post("/accounts/login/", {"username": user.username, "password": "wrong-password-123"})
    password_only(user)
    for _attempt in range(limit - 1):
        Client().post("/accounts/login/", {"username": user.username, "password": "wrong-password-123"})
    assert Client().post("/accounts/login/", {"username": user.username, "password": PASSWORD}).status_code == 302


def test_lockout_applies_to_two_factor_users(cast):
    user = cast.approver
    give_totp(user)
    client = Client()
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": user.username, "password": "wrong-password-123"})
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 429
    assert client.get(VERIFY).status_code == 302
    assert client.get(VERIFY)["Location"].startswith("/accounts/login/")
