"""Password reset by e-mail, deactivation and reactivation, resetting a user's authenticator, a replayed TOTP code,
and the password rules speaking Vietnamese."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.utils import translation
from django_otp.plugins.otp_totp.models import TOTPDevice

from nguon.accounts import actions
from nguon.accounts.models import User
from nguon.audit.models import AuditEvent
from nguon.conftest import PASSWORD, current_code, give_totp, make_user
from nguon.core.errors import Conflict, Forbidden, NotFound

NEW_PASSWORD = "một-mật-khẩu-mới-2026"


@pytest.fixture
def reader(cast):
    user = make_user("reader.bienhoa", cast.commune)
    User.objects.filter(pk=user.pk).update(email="Reader@Example.org")
    user.refresh_from_db()
    return user


def _reset_link(message) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_reset_by_email_sets_a_new_password(cast, reader, settings):
    settings.PUBLIC_URL = "https://nguon.example.gov.vn"
    client = Client()
    page = client.get("/accounts/login/")
    assert "/accounts/password-reset/" in page.content.decode()
    response = client.post("/accounts/password-reset/", {"email": "reader@example.org"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password-reset/sent/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["Reader@Example.org"]
    assert message.subject == "Nguồn: đặt mật khẩu mới"
    assert "reader.bienhoa" in message.body and "60 phút" in message.body
    # The link uses the configured public address, not the request's Host.
    assert "https://nguon.example.gov.vn/accounts/reset/" in message.body
    link = _reset_link(message)

    form = client.get(link, follow=True)
    assert form.status_code == 200 and form.context["validlink"]
    set_url = form.redirect_chain[-1][0]
    weak = client.post(set_url, {"new_password1": "12345678", "new_password2": "12345678"})
    assert weak.status_code == 200
    errors = " ".join(weak.context["form"].errors["new_password2"])
    assert "quá ngắn" in errors and "toàn chữ số" in errors
    done = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/accounts/reset/done/"
    reader.refresh_from_db()
    assert reader.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(action="accounts.password_reset", actor=reader).count() == 1
    # The link works once.
    again = client.get(link, follow=True)
    assert again.context["validlink"] is False
    assert "đã được dùng hoặc đã hết hạn" in again.content.decode()


def test_reset_reveals_nothing_about_unknown_or_inactive_addresses(cast, reader):
    client = Client()
    known = client.post("/accounts/password-reset/", {"email": "reader@example.org"})
    unknown = client.post("/accounts/password-reset/", {"email": "nobody@example.org"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert len(mail.outbox) == 1
    mail.outbox.clear()
    actions.do_deactivate_user(reader, acting_user=cast.commune_admin)
    inactive = client.post("/accounts/password-reset/", {"email": "reader@example.org"})
    assert (inactive.status_code, inactive["Location"]) == (unknown.status_code, unknown["Location"])
    assert mail.outbox == []


def test_reset_link_expires_after_the_configured_minutes(cast, reader, settings, monkeypatch):
    from datetime import datetime, timedelta

    from django.contrib.auth.tokens import PasswordResetTokenGenerator

    settings.PASSWORD_RESET_TIMEOUT = 30 * 60
    client = Client()
    client.post("/accounts/password-reset/", {"email": "reader@example.org"})
    link = _reset_link(mail.outbox[0])
    # The generator's clock is its documented mocking point (time_machine and its naive local time disagree).
    monkeypatch.setattr(PasswordResetTokenGenerator, "_now", lambda self: datetime.now() + timedelta(minutes=31))
    assert client.get(link, follow=True).context["validlink"] is False
    monkeypatch.setattr(PasswordResetTokenGenerator, "_now", lambda self: datetime.now() + timedelta(minutes=29))
    assert client.get(link, follow=True).context["validlink"] is True


def test_deactivation_ends_sessions_and_sign_in(cast, reader, client_for):
    session = client_for(reader)
    assert session.get("/").status_code == 200
    admin = client_for(cast.commune_admin)
    page = admin.get(f"/accounts/users/{reader.pk}/")
    assert "Khóa tài khoản" in page.content.decode()
    response = admin.post(f"/accounts/users/{reader.pk}/deactivate/")
    assert response.status_code == 302
    reader.refresh_from_db()
    assert reader.is_active is False
    # The open session is gone at its next request.
    response = session.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    refused = Client().post("/accounts/login/", {"username": reader.username, "password": PASSWORD})
    assert refused.status_code == 200
    event = AuditEvent.objects.get(action="accounts.user_deactivated")
    assert event.actor == cast.commune_admin and event.unit_id == cast.commune.pk

    admin.post(f"/accounts/users/{reader.pk}/reactivate/")
    reader.refresh_from_db()
    assert reader.is_active
    assert AuditEvent.objects.filter(action="accounts.user_reactivated").count() == 1
    # Reactivation does not bring the old session back; a new sign-in works.
    assert session.get("/").status_code == 302
    assert client_for(reader).get("/").status_code == 200


def test_deactivation_rules(cast, reader):
    with pytest.raises(Conflict):
        actions.do_deactivate_user(cast.commune_admin, acting_user=cast.commune_admin)
    with pytest.raises(Forbidden):
        actions.do_deactivate_user(reader, acting_user=cast.commune_editor)
    actions.do_deactivate_user(reader, acting_user=cast.commune_admin)
    with pytest.raises(Conflict):
        actions.do_deactivate_user(reader, acting_user=cast.commune_admin)


@pytest.mark.parametrize("path", ["deactivate", "reactivate", "reset-2fa"])
def test_account_actions_outside_scope_are_not_found(cast, client_for, path):
    # A commune administrator cannot reach an account of the other commune, nor learn it exists.
    target = cast.outsider
    response = client_for(cast.commune_admin).post(f"/accounts/users/{target.pk}/{path}/")
    assert response.status_code == 404
    target.refresh_from_db()
    assert target.is_active
    with pytest.raises(NotFound):
        from nguon.accounts.access import get_user_for_user

        get_user_for_user(cast.commune_admin, target.pk)


def test_editor_cannot_deactivate(cast, reader, client_for):
    response = client_for(cast.commune_editor).post(f"/accounts/users/{reader.pk}/deactivate/")
    assert response.status_code in (403, 404)
    reader.refresh_from_db()
    assert reader.is_active


def test_reset_totp_removes_the_device_and_ends_sessions(cast, client_for):
    approver = cast.approver
    session = client_for(approver)  # passes TOTP with a new device
    assert session.get("/").status_code == 200
    admin = client_for(cast.province_admin)
    page = admin.get(f"/accounts/users/{approver.pk}/")
    assert "Đặt lại xác thực hai lớp" in page.content.decode()
    assert admin.post(f"/accounts/users/{approver.pk}/reset-2fa/").status_code == 302
    assert not TOTPDevice.objects.filter(user=approver).exists()
    assert session.get("/").status_code == 302
    event = AuditEvent.objects.get(action="accounts.totp_reset")
    assert event.actor == cast.province_admin and event.changes["count"] == 1
    # The next sign-in asks for a new authenticator.
    client = Client()
    client.post("/accounts/login/", {"username": approver.username, "password": PASSWORD})
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/setup/")


def test_a_reused_code_gets_its_own_message(cast):
    user = cast.approver
    device = give_totp(user)
    code = current_code(device)
    first = Client()
    first.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert first.post("/accounts/2fa/verify/", {"token": code}).status_code == 302
    second = Client()
    second.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    device.refresh_from_db()
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    response = second.post("/accounts/2fa/verify/", {"token": code})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Mã này đã được dùng" in html, re.findall(r"role=\"alert\">([^<]*)", html)
    assert "sai hoặc đã hết hạn" not in html
    assert AuditEvent.objects.filter(action="accounts.totp_reused", actor=user).count() == 1


def test_password_rules_speak_vietnamese(cast):
    from django.contrib.auth.password_validation import password_validators_help_texts, validate_password
    from django.core.exceptions import ValidationError

    with translation.override("vi"):
        with pytest.raises(ValidationError) as caught:
            validate_password("1234", User(username="abc"))
        messages = " ".join(caught.value.messages)
        assert "quá ngắn" in messages and "10 ký tự" in messages
        assert "quá phổ biến" in messages and "toàn chữ số" in messages
        with pytest.raises(ValidationError) as caught:
            validate_password("nguyenvana.tinh", User(username="nguyenvana.tinh"))
        assert "quá giống" in " ".join(caught.value.messages)
        for text in password_validators_help_texts():
            assert re.search(r"[ạảãàáâậầấẩẫăắằặẳẵđêềếểễệôồốổỗộơờớởỡợưừứửữự]", text), text


def test_the_api_deactivates_reactivates_and_resets_totp(cast, reader, client_for):
    give_totp(reader)
    api = client_for(cast.commune_admin)
    response = api.post(f"/api/v1/accounts/users/{reader.pk}/deactivate")
    assert response.status_code == 200 and response.json()["is_active"] is False
    again = api.post(f"/api/v1/accounts/users/{reader.pk}/deactivate")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_inactive"
    assert api.post(f"/api/v1/accounts/users/{reader.pk}/reactivate").json()["is_active"] is True
    assert api.post(f"/api/v1/accounts/users/{reader.pk}/reset-totp").status_code == 200
    assert not TOTPDevice.objects.filter(user=reader).exists()
    own = api.post(f"/api/v1/accounts/users/{cast.commune_admin.pk}/deactivate")
    assert own.status_code == 409 and own.json()["error"]["code"] == "own_account"
    outside = api.post(f"/api/v1/accounts/users/{cast.outsider.pk}/deactivate")
    assert outside.status_code == 404
    editor = client_for(cast.commune_editor).post(f"/api/v1/accounts/users/{reader.pk}/deactivate")
    assert editor.status_code in (403, 404)
