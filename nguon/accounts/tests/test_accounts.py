"""Accounts and role grants, through the JSON API and the back-office forms."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from nguon.accounts.models import RoleGrant, User
from nguon.accounts.roles import Role
from nguon.audit.models import AuditEvent
from nguon.conftest import PASSWORD

NEW_PASSWORD = "another-long-passphrase-7"


def post_json(client: Client, url: str, payload: dict | None = None):
    return client.post(url, data=json.dumps(payload or {}), content_type="application/json")


def user_payload(**overrides) -> dict:
    return {
        "username": "nguyen.van.an",
        "password": NEW_PASSWORD,
        "unit_code": "26068",
        "full_name": "Nguyễn Văn An",
        "email": "an@example.org",
        **overrides,
    }


def form_data(cast, **overrides) -> dict:
    return {
        "username": "tran.thi.binh",
        "full_name": "Trần Thị Bình",
        "email": "",
        "unit": str(cast.commune.pk),
        "role": Role.EDITOR,
        "password": NEW_PASSWORD,
        **overrides,
    }


# --- Creating accounts through the API ------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "unit_code"), [("province_admin", "26041"), ("province_admin", "75"), ("commune_admin", "26068")]
)
def test_api_create_user(cast, client_for, who, unit_code):
    actor = getattr(cast, who)
    client = client_for(actor)

    response = post_json(client, "/api/v1/accounts/users", user_payload(unit_code=unit_code))

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["username"] == "nguyen.van.an"
    assert body["unit_code"] == unit_code
    assert "password" not in body
    user = User.objects.get(username="nguyen.van.an")
    assert user.pk == body["id"]
    assert user.unit.code == unit_code
    assert user.full_name == "Nguyễn Văn An"
    assert user.check_password(NEW_PASSWORD)
    assert not user.grants.exists()
    event = AuditEvent.objects.get(action="accounts.user_created", actor=actor)
    assert event.object_id == str(user.pk)
    # The new account can sign in with the password it was given.
    assert Client().post("/accounts/login/", {"username": user.username, "password": NEW_PASSWORD}).status_code == 302


@pytest.mark.parametrize(
    ("who", "unit_code", "status", "code"),
    [
        ("commune_admin", "26041", 404, "not_found"),
        ("commune_admin", "75", 404, "not_found"),
        ("commune_admin", "99999", 404, "not_found"),
        ("commune_editor", "26068", 403, "forbidden"),
        ("province_editor", "26068", 403, "forbidden"),
        ("approver", "75", 403, "forbidden"),
        ("outsider", "26041", 404, "not_found"),
    ],
)
def test_api_create_user_outside_reach_is_refused(cast, client_for, who, unit_code, status, code):
    client = client_for(getattr(cast, who))
    users = User.objects.count()

    response = post_json(client, "/api/v1/accounts/users", user_payload(unit_code=unit_code))

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert User.objects.count() == users
    assert not AuditEvent.objects.filter(action="accounts.user_created", actor=getattr(cast, who)).exists()


@pytest.mark.parametrize(
    "username",
    [
        "editor.bienhoa",
        "Editor.BienHoa",
        "EDITOR.BIENHOA",
        "  editor.bienhoa  ",
        "ｅｄｉｔｏｒ.bienhoa",  # full-width letters: the same name once NFKC-normalised, as at sign-in
    ],
)
def test_api_duplicate_username_conflicts(cast, client_for, username):
    client = client_for(cast.province_admin)
    users = User.objects.count()
    events = AuditEvent.objects.count()

    response = post_json(client, "/api/v1/accounts/users", user_payload(username=username))

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "username_taken"
    assert error["message"]
    assert error["fields"]["username"]
    assert User.objects.count() == users
    assert AuditEvent.objects.count() == events


def test_api_duplicate_username_with_vietnamese_letters_conflicts(cast, client_for):
    """Case folding must cover Vietnamese letters too, not only ASCII (SQLite's LIKE folds ASCII only)."""
    client = client_for(cast.province_admin)
    assert post_json(client, "/api/v1/accounts/users", user_payload(username="đức.anh")).status_code == 201

    response = post_json(client, "/api/v1/accounts/users", user_payload(username="ĐỨC.ANH"))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "username_taken"
    assert User.objects.filter(username__in=["đức.anh", "ĐỨC.ANH"]).count() == 1


@pytest.mark.parametrize(
    "password",
    [
        "short1",  # too short
        "12345678901234",  # all digits
        "password1234",  # a common password
        "nguyen.van.an",  # the username itself
    ],
)
def test_api_weak_password_is_refused(cast, client_for, password):
    client = client_for(cast.province_admin)
    users = User.objects.count()

    response = post_json(client, "/api/v1/accounts/users", user_payload(password=password))

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"]["password"]
    assert all(message for message in error["fields"]["password"])
    assert User.objects.count() == users


@pytest.mark.parametrize(("username", "field"), [("", "username"), ("   ", "username"), ("có dấu cách", "username")])
def test_api_bad_username_is_refused(cast, client_for, username, field):
    client = client_for(cast.province_admin)
    users = User.objects.count()
    response = post_json(client, "/api/v1/accounts/users", user_payload(username=username))
    assert response.status_code == 400
    assert response.json()["error"]["fields"][field]
    assert User.objects.count() == users


def test_api_malformed_user_payload_is_422(cast, client_for):
    client = client_for(cast.province_admin)
    response = post_json(client, "/api/v1/accounts/users", {"username": "x"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert {"password", "unit_code"} <= set(error["fields"])


# --- Creating accounts through the back-office form -----------------------------------------------


def test_form_create_user_with_role(cast, client_for):
    client = client_for(cast.commune_admin)

    response = client.post("/accounts/users/new/", form_data(cast))

    user = User.objects.get(username="tran.thi.binh")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/users/{user.pk}/"
    assert user.unit == cast.commune
    assert user.check_password(NEW_PASSWORD)
    [grant] = user.grants.all()
    assert (grant.role, grant.unit, grant.granted_by) == (Role.EDITOR, cast.commune, cast.commune_admin)
    actions = set(AuditEvent.objects.filter(actor=cast.commune_admin).values_list("action", flat=True))
    assert {"accounts.user_created", "accounts.role_granted"} <= actions
    detail = client.get(response["Location"])
    assert detail.status_code == 200
    assert detail.context["target"] == user


def test_form_create_user_without_role(cast, client_for):
    client = client_for(cast.province_admin)
    response = client.post("/accounts/users/new/", form_data(cast, role="", unit=str(cast.other_commune.pk)))
    assert response.status_code == 302
    user = User.objects.get(username="tran.thi.binh")
    assert user.unit == cast.other_commune
    assert not user.grants.exists()


@pytest.mark.parametrize("username", ["commune_editor", "upper_case"])
def test_form_duplicate_username_shows_field_error(cast, client_for, username):
    existing = cast.commune_editor.username
    taken = existing if username == "commune_editor" else existing.upper()
    client = client_for(cast.commune_admin)
    users = User.objects.count()

    response = client.post("/accounts/users/new/", form_data(cast, username=taken))

    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["username"]
    assert 'class="field-error"' in response.content.decode()
    assert User.objects.count() == users


def test_form_weak_password_shows_field_error(cast, client_for):
    client = client_for(cast.commune_admin)
    response = client.post("/accounts/users/new/", form_data(cast, password="12345"))
    assert response.status_code == 400
    assert response.context["form"].errors["password"]
    assert not User.objects.filter(username="tran.thi.binh").exists()


def test_form_unit_outside_reach_is_refused(cast, client_for):
    client = client_for(cast.commune_admin)
    for unit in (cast.province, cast.other_commune):
        response = client.post("/accounts/users/new/", form_data(cast, unit=str(unit.pk)))
        assert response.status_code == 400
        assert response.context["form"].errors["unit"]
    assert not User.objects.filter(username="tran.thi.binh").exists()


def test_form_failed_role_grant_creates_no_account(cast, client_for):
    client = client_for(cast.commune_admin)
    response = client.post("/accounts/users/new/", form_data(cast, role="emperor"))
    assert response.status_code == 400
    assert response.context["form"].errors["role"]
    assert not User.objects.filter(username="tran.thi.binh").exists()


def test_form_offers_only_units_in_reach(cast, client_for):
    client = client_for(cast.commune_admin)
    response = client.get("/accounts/users/")
    assert response.status_code == 200
    units = set(response.context["form"].fields["unit"].queryset.values_list("code", flat=True))
    assert units == {"26068"}


@pytest.mark.parametrize("who", ["commune_editor", "province_editor", "approver", "outsider"])
def test_user_pages_need_manage_users(cast, client_for, who):
    client = client_for(getattr(cast, who))
    assert client.get("/accounts/users/").status_code == 403
    response = client.post("/accounts/users/new/", form_data(cast, unit=str(cast.commune.pk)))
    assert response.status_code == 400
    assert response.context["form"].errors["unit"]
    assert not User.objects.filter(username="tran.thi.binh").exists()
    target = client.get(f"/accounts/users/{cast.commune_editor.pk}/")
    assert target.status_code in (403, 404)


# --- Listing accounts ------------------------------------------------------------------------------

ALL_USERNAMES = {"admin.tinh", "editor.tinh", "approver.tinh", "admin.bienhoa", "editor.bienhoa", "outsider"}


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("province_admin", ALL_USERNAMES),
        ("commune_admin", {"admin.bienhoa", "editor.bienhoa"}),
        ("commune_editor", set()),
        ("province_editor", set()),
        ("approver", set()),
        ("outsider", set()),
    ],
)
def test_api_users_list_is_scoped(cast, client_for, who, expected):
    client = client_for(getattr(cast, who))
    response = client.get("/api/v1/accounts/users")
    assert response.status_code == 200
    body = response.json()
    assert {item["username"] for item in body["items"]} == expected
    assert body["count"] == len(expected)


def test_users_page_is_scoped(cast, client_for):
    client = client_for(cast.commune_admin)
    response = client.get("/accounts/users/")
    assert {u.username for u in response.context["users"]} == {"admin.bienhoa", "editor.bienhoa"}
    html = response.content.decode()
    assert "editor.tinh" not in html
    assert "outsider" not in html
    assert client.get(f"/accounts/users/{cast.province_editor.pk}/").status_code == 404
    assert client.get(f"/accounts/users/{cast.outsider.pk}/").status_code == 404
    assert client.get(f"/accounts/users/{cast.commune_editor.pk}/").status_code == 200


def test_api_grants_of_a_user_outside_reach_is_404(cast, client_for):
    client = client_for(cast.commune_admin)
    response = client.get(f"/api/v1/accounts/users/{cast.province_editor.pk}/grants")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    response = client.get(f"/api/v1/accounts/users/{cast.commune_editor.pk}/grants")
    assert response.status_code == 200
    assert [(g["role"], g["unit_code"]) for g in response.json()] == [("editor", "26068")]


def test_api_me(cast, client_for):
    client = client_for(cast.commune_admin)
    response = client.get("/api/v1/accounts/me")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "admin.bienhoa"
    assert body["unit_code"] == "26068"
    assert body["two_factor_verified"] is True
    assert [(g["role"], g["unit_code"]) for g in body["grants"]] == [("admin", "26068")]


# --- Granting and revoking roles -------------------------------------------------------------------


def test_api_commune_admin_grants_in_its_commune(cast, client_for):
    client = client_for(cast.commune_admin)
    payload = {"user_id": cast.commune_editor.pk, "role": Role.VIEWER, "unit_code": "26068"}

    response = post_json(client, "/api/v1/accounts/grants", payload)

    assert response.status_code == 201
    body = response.json()
    assert (body["role"], body["unit_code"], body["revoked_at"]) == ("viewer", "26068", None)
    grant = RoleGrant.objects.get(pk=body["id"])
    assert (grant.user, grant.granted_by) == (cast.commune_editor, cast.commune_admin)
    assert AuditEvent.objects.filter(action="accounts.role_granted", actor=cast.commune_admin).count() == 1

    again = post_json(client, "/api/v1/accounts/grants", payload)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "grant_exists"
    assert RoleGrant.objects.filter(user=cast.commune_editor, role=Role.VIEWER).count() == 1


@pytest.mark.parametrize("unit_code", ["75", "26041"])
@pytest.mark.parametrize("role", [Role.ADMIN, Role.EDITOR, Role.VIEWER])
def test_api_commune_admin_cannot_grant_outside_its_commune(cast, client_for, unit_code, role):
    client = client_for(cast.commune_admin)
    grants = RoleGrant.objects.count()
    events = AuditEvent.objects.count()

    for target in (cast.commune_editor, cast.commune_admin):
        payload = {"user_id": target.pk, "role": role, "unit_code": unit_code}
        response = post_json(client, "/api/v1/accounts/grants", payload)
        assert response.status_code in (403, 404)
        assert response.json()["error"]["code"] in ("forbidden", "not_found")

    assert RoleGrant.objects.count() == grants
    assert AuditEvent.objects.count() == events
    assert not RoleGrant.objects.filter(unit__code=unit_code, user__unit=cast.commune).exists()


def test_api_commune_admin_cannot_grant_to_a_user_outside(cast, client_for):
    client = client_for(cast.commune_admin)
    grants = RoleGrant.objects.count()
    for target in (cast.province_editor, cast.outsider):
        payload = {"user_id": target.pk, "role": Role.VIEWER, "unit_code": "26068"}
        response = post_json(client, "/api/v1/accounts/grants", payload)
        assert response.status_code == 404
    assert RoleGrant.objects.count() == grants


@pytest.mark.parametrize("who", ["commune_editor", "province_editor", "approver"])
def test_api_non_admins_cannot_grant(cast, client_for, who):
    client = client_for(getattr(cast, who))
    grants = RoleGrant.objects.count()
    payload = {"user_id": cast.commune_editor.pk, "role": Role.ADMIN, "unit_code": "26068"}
    response = post_json(client, "/api/v1/accounts/grants", payload)
    assert response.status_code in (403, 404)
    assert RoleGrant.objects.count() == grants


def test_api_unknown_role_is_refused(cast, client_for):
    client = client_for(cast.province_admin)
    payload = {"user_id": cast.outsider.pk, "role": "superuser", "unit_code": "26041"}
    response = post_json(client, "/api/v1/accounts/grants", payload)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["role"]
    assert not cast.outsider.grants.exists()


def test_form_grant_outside_reach_is_refused(cast, client_for):
    client = client_for(cast.commune_admin)
    grants = RoleGrant.objects.count()
    for unit in (cast.province, cast.other_commune):
        response = client.post(f"/accounts/users/{cast.commune_editor.pk}/", {"role": Role.ADMIN, "unit": str(unit.pk)})
        assert response.status_code == 400
        assert response.context["form"].errors["unit"]
    response = client.post(
        f"/accounts/users/{cast.province_editor.pk}/", {"role": Role.ADMIN, "unit": str(cast.commune.pk)}
    )
    assert response.status_code == 404
    assert RoleGrant.objects.count() == grants


def test_form_grant_in_reach(cast, client_for):
    client = client_for(cast.province_admin)
    response = client.post(
        f"/accounts/users/{cast.outsider.pk}/", {"role": Role.VIEWER, "unit": str(cast.other_commune.pk)}
    )
    assert response.status_code == 302
    grant = cast.outsider.grants.get()
    assert (grant.role, grant.unit, grant.granted_by) == (Role.VIEWER, cast.other_commune, cast.province_admin)
    # The outsider now sees the commune it was given, and only that.
    outsider = Client()
    outsider.post("/accounts/login/", {"username": cast.outsider.username, "password": PASSWORD})
    assert {u["code"] for u in outsider.get("/api/v1/units/").json()["items"]} == {"26041"}


def test_api_revoke_keeps_the_row(cast, client_for):
    client = client_for(cast.commune_admin)
    grant = cast.commune_editor.grants.get()

    response = post_json(client, f"/api/v1/accounts/grants/{grant.pk}/revoke")

    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert grant.revoked_by == cast.commune_admin
    assert RoleGrant.objects.filter(pk=grant.pk).exists()
    assert not RoleGrant.objects.active().filter(user=cast.commune_editor).exists()
    event = AuditEvent.objects.get(action="accounts.role_revoked")
    assert event.actor == cast.commune_admin
    assert event.object_id == str(grant.pk)

    again = post_json(client, f"/api/v1/accounts/grants/{grant.pk}/revoke")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "grant_revoked"

    # History stays visible, and the same role can be granted again afterwards.
    history = client.get(f"/api/v1/accounts/users/{cast.commune_editor.pk}/grants").json()
    assert [g["revoked_at"] is not None for g in history] == [True]
    payload = {"user_id": cast.commune_editor.pk, "role": Role.EDITOR, "unit_code": "26068"}
    assert post_json(client, "/api/v1/accounts/grants", payload).status_code == 201
    assert RoleGrant.objects.filter(user=cast.commune_editor).count() == 2


def test_revoked_user_loses_reach(cast, client_for):
    admin = client_for(cast.commune_admin)
    editor = client_for(cast.commune_editor)
    assert editor.get("/api/v1/units/").json()["count"] == 1
    grant = cast.commune_editor.grants.get()
    assert post_json(admin, f"/api/v1/accounts/grants/{grant.pk}/revoke").status_code == 200
    assert editor.get("/api/v1/units/").json()["count"] == 0
    assert editor.get("/units/26068/").status_code == 404


def test_form_revoke(cast, client_for):
    client = client_for(cast.province_admin)
    grant = cast.commune_editor.grants.get()
    response = client.post(f"/accounts/grants/{grant.pk}/revoke/")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/users/{cast.commune_editor.pk}/"
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert client.get(f"/accounts/grants/{grant.pk}/revoke/").status_code == 405


def test_revoke_outside_reach_is_404(cast, client_for):
    client = client_for(cast.commune_admin)
    grant = cast.province_editor.grants.get()
    assert post_json(client, f"/api/v1/accounts/grants/{grant.pk}/revoke").status_code == 404
    assert client.post(f"/accounts/grants/{grant.pk}/revoke/").status_code == 404
    assert post_json(client, "/api/v1/accounts/grants/999999/revoke").status_code == 404
    grant.refresh_from_db()
    assert grant.revoked_at is None


def test_commune_admin_cannot_revoke_a_province_grant_of_its_own_user(cast, client_for):
    """A commune user may hold a role higher up; the commune admin sees the user but may not touch that grant."""
    province_grant = RoleGrant.objects.create(user=cast.commune_editor, role=Role.VIEWER, unit=cast.province)
    client = client_for(cast.commune_admin)
    response = post_json(client, f"/api/v1/accounts/grants/{province_grant.pk}/revoke")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert client.post(f"/accounts/grants/{province_grant.pk}/revoke/").status_code == 403
    province_grant.refresh_from_db()
    assert province_grant.revoked_at is None
