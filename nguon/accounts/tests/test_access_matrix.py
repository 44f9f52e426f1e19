"""Role × unit matrix: who sees and who changes which unit, through the pages and the JSON API."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from nguon.audit.models import AuditEvent
from nguon.units.models import Organisation, OrganisationKind, Unit

PROVINCE, COMMUNE, OTHER = "75", "26068", "26041"
ALL_CODES = (PROVINCE, COMMUNE, OTHER)

# What each member of the cast may see.
VISIBLE = {
    "province_admin": {PROVINCE, COMMUNE, OTHER},
    "province_editor": {PROVINCE, COMMUNE, OTHER},
    "approver": {PROVINCE, COMMUNE, OTHER},
    "commune_admin": {COMMUNE},
    "commune_editor": {COMMUNE},
    "outsider": set(),
}
# What each member of the cast may change (rename the unit, add an organisation).
MANAGES = {
    "province_admin": {PROVINCE, COMMUNE, OTHER},
    "province_editor": set(),
    "approver": set(),
    "commune_admin": {COMMUNE},
    "commune_editor": set(),
    "outsider": set(),
}
MATRIX = [(who, code) for who in VISIBLE for code in ALL_CODES]


def expected_status(who: str, code: str) -> int:
    """A unit outside the user's reach does not exist for them (404); in reach but not theirs to change is 403."""
    if code in MANAGES[who]:
        return 200
    if code in VISIBLE[who]:
        return 403
    return 404


def api_json(client: Client, method: str, url: str, payload: dict | None = None):
    if method == "get":
        return client.get(url)
    return getattr(client, method)(url, data=json.dumps(payload or {}), content_type="application/json")


def audit_count(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


# --- Seeing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "code"), MATRIX)
def test_unit_page_and_api_visibility(cast, client_for, who, code):
    client = client_for(getattr(cast, who))
    visible = code in VISIBLE[who]

    page = client.get(f"/units/{code}/")
    assert page.status_code == (200 if visible else 404)

    response = client.get(f"/api/v1/units/{code}")
    if visible:
        assert response.status_code == 200
        assert response.json()["code"] == code
    else:
        assert response.status_code == 404
        assert response["Content-Type"].startswith("application/json")
        error = response.json()["error"]
        assert error["code"] == "not_found"
        assert error["message"]

    organisations = client.get(f"/api/v1/units/{code}/organisations")
    assert organisations.status_code == (200 if visible else 404)


@pytest.mark.parametrize("who", list(VISIBLE))
def test_api_unit_list_is_scoped(cast, client_for, who):
    client = client_for(getattr(cast, who))
    response = client.get("/api/v1/units/")
    assert response.status_code == 200
    body = response.json()
    codes = {item["code"] for item in body["items"]}
    assert codes == VISIBLE[who]
    assert body["count"] == len(VISIBLE[who])


@pytest.mark.parametrize("who", list(VISIBLE))
def test_unit_list_page_is_scoped(cast, client_for, who):
    client = client_for(getattr(cast, who))
    response = client.get("/units/")
    assert response.status_code == 200
    codes = {unit.code for unit in response.context["page"].object_list}
    assert codes == VISIBLE[who]


@pytest.mark.parametrize("who", list(VISIBLE))
def test_api_filters_cannot_widen_the_scope(cast, client_for, who):
    client = client_for(getattr(cast, who))
    for query in (f"?parent={PROVINCE}", f"?q={OTHER}", "?include_retired=true", "?type=phuong"):
        response = client.get(f"/api/v1/units/{query}")
        assert response.status_code == 200
        codes = {item["code"] for item in response.json()["items"]}
        assert codes <= VISIBLE[who], query


@pytest.mark.parametrize("who", list(VISIBLE))
def test_unit_list_shows_only_units_in_reach(cast, client_for, who):
    # The home page no longer lists units (it shows what needs the person now); the unit list does.
    client = client_for(getattr(cast, who))
    assert client.get("/").status_code == 200
    response = client.get("/units/")
    assert response.status_code == 200
    assert {unit.code for unit in response.context["page"].object_list} == VISIBLE[who]
    html = response.content.decode()
    for code in ALL_CODES:
        assert (f'href="/units/{code}/"' in html) == (code in VISIBLE[who])


def test_outsider_sees_nothing(cast, client_for):
    client = client_for(cast.outsider)
    response = client.get("/api/v1/units/")
    assert response.json() == {"items": [], "count": 0}
    # Not even the commune the account is attached to.
    assert client.get(f"/units/{cast.outsider.unit.code}/").status_code == 404
    assert client.get("/").status_code == 200
    assert list(client.get("/units/").context["page"].object_list) == []


def test_province_user_sees_the_tree(cast, client_for):
    client = client_for(cast.province_editor)
    units = client.get("/units/").context["page"].object_list
    assert [u.code for u in units][0] == PROVINCE  # ordered by path: the province first, then its communes
    assert {u.code for u in units} == {PROVINCE, COMMUNE, OTHER}
    detail = client.get(f"/units/{PROVINCE}/")
    assert {child.code for child in detail.context["children"]} == {COMMUNE, OTHER}
    assert detail.context["can_manage"] is False


def test_commune_user_unit_page_hides_the_province(cast, client_for):
    client = client_for(cast.commune_editor)
    detail = client.get(f"/units/{COMMUNE}/")
    assert detail.status_code == 200
    assert detail.context["ancestors"] == []
    assert detail.context["can_manage"] is False
    usernames = {u.username for u in detail.context["users"]}
    assert usernames == {"admin.bienhoa", "editor.bienhoa"}


# --- Changing, through the API ---------------------------------------------------------------------


@pytest.mark.parametrize(("who", "code"), MATRIX)
def test_api_patch_unit(cast, client_for, who, code):
    client = client_for(getattr(cast, who))
    before = Unit.objects.get(code=code).name
    audits = audit_count("units.unit_updated")

    response = api_json(client, "patch", f"/api/v1/units/{code}", {"name": "Tên mới"})

    status = expected_status(who, code)
    assert response.status_code == status
    unit = Unit.objects.get(code=code)
    if status == 200:
        assert response.json()["name"] == "Tên mới"
        assert unit.name == "Tên mới"
        assert audit_count("units.unit_updated") == audits + 1
        event = AuditEvent.objects.filter(action="units.unit_updated").first()
        assert event.actor == getattr(cast, who)
        assert event.unit == unit
        assert event.changes == {"name": [before, "Tên mới"]}
    else:
        assert response.json()["error"]["code"] == ("forbidden" if status == 403 else "not_found")
        assert unit.name == before
        assert audit_count("units.unit_updated") == audits


@pytest.mark.parametrize(("who", "code"), MATRIX)
def test_api_create_organisation(cast, client_for, who, code):
    client = client_for(getattr(cast, who))
    audits = audit_count("units.organisation_created")

    payload = {"name": "UBND thử nghiệm", "kind": OrganisationKind.PEOPLES_COMMITTEE}
    response = api_json(client, "post", f"/api/v1/units/{code}/organisations", payload)

    status = expected_status(who, code)
    if status == 200:
        assert response.status_code == 201
        assert response.json()["unit_code"] == code
        organisation = Organisation.objects.get()
        assert organisation.unit.code == code
        assert organisation.name == "UBND thử nghiệm"
        assert audit_count("units.organisation_created") == audits + 1
        event = AuditEvent.objects.filter(action="units.organisation_created").first()
        assert event.actor == getattr(cast, who)
        assert event.object_id == str(organisation.pk)
    else:
        assert response.status_code == status
        assert response.json()["error"]["code"] == ("forbidden" if status == 403 else "not_found")
        assert not Organisation.objects.exists()
        assert audit_count("units.organisation_created") == audits


def test_commune_editor_cannot_change_its_own_commune(cast, client_for):
    client = client_for(cast.commune_editor)
    response = api_json(client, "patch", f"/api/v1/units/{COMMUNE}", {"name": "Đổi tên"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    response = api_json(client, "post", f"/api/v1/units/{COMMUNE}/organisations", {"name": "X", "kind": "other"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    cast.commune.refresh_from_db()
    assert cast.commune.name == "Phường Biên Hòa"
    assert not Organisation.objects.exists()


def test_commune_admin_manages_its_own_commune(cast, client_for):
    client = client_for(cast.commune_admin)
    response = api_json(client, "patch", f"/api/v1/units/{COMMUNE}", {"name": "Phường Biên Hòa mới"})
    assert response.status_code == 200
    cast.commune.refresh_from_db()
    assert cast.commune.name == "Phường Biên Hòa mới"

    payload = {"name": "Đài truyền thanh", "kind": "station", "short_name": "ĐTT"}
    response = api_json(client, "post", f"/api/v1/units/{COMMUNE}/organisations", payload)
    assert response.status_code == 201
    assert Organisation.objects.filter(unit=cast.commune, name="Đài truyền thanh", short_name="ĐTT").exists()

    # Its organisations are listed to it, and to nobody outside.
    listed = client.get(f"/api/v1/units/{COMMUNE}/organisations").json()
    assert [o["name"] for o in listed] == ["Đài truyền thanh"]
    actions = set(AuditEvent.objects.filter(actor=cast.commune_admin).values_list("action", flat=True))
    assert {"units.unit_updated", "units.organisation_created"} <= actions


def test_commune_admin_refused_on_other_commune_writes_nothing(cast, client_for):
    client = client_for(cast.commune_admin)
    events = AuditEvent.objects.count()
    for code in (OTHER, PROVINCE):
        response = api_json(client, "patch", f"/api/v1/units/{code}", {"name": "Chiếm"})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        response = api_json(client, "post", f"/api/v1/units/{code}/organisations", {"name": "Chiếm", "kind": "other"})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert Unit.objects.filter(name="Chiếm").count() == 0
    assert not Organisation.objects.exists()
    assert AuditEvent.objects.count() == events


def test_api_invalid_unit_patch_is_refused(cast, client_for):
    client = client_for(cast.commune_admin)
    response = api_json(client, "patch", f"/api/v1/units/{COMMUNE}", {"name": "   "})
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid"
    assert "name" in body["fields"]
    cast.commune.refresh_from_db()
    assert cast.commune.name == "Phường Biên Hòa"


def test_api_duplicate_organisation_conflicts(cast, client_for):
    client = client_for(cast.commune_admin)
    payload = {"name": "Dai truyen thanh", "kind": "station"}
    assert api_json(client, "post", f"/api/v1/units/{COMMUNE}/organisations", payload).status_code == 201
    payload["name"] = "DAI TRUYEN THANH"
    response = api_json(client, "post", f"/api/v1/units/{COMMUNE}/organisations", payload)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "organisation_exists"
    assert Organisation.objects.count() == 1


# --- Changing, through the back-office forms --------------------------------------------------------


@pytest.mark.parametrize(("who", "code"), MATRIX)
def test_form_rename_unit(cast, client_for, who, code):
    client = client_for(getattr(cast, who))
    before = Unit.objects.get(code=code).name

    response = client.post(f"/units/{code}/edit/", {"name": "Tên qua biểu mẫu", "name_en": ""})

    status = expected_status(who, code)
    unit = Unit.objects.get(code=code)
    if status == 200:
        assert response.status_code == 302
        assert response["Location"] == f"/units/{code}/"
        assert unit.name == "Tên qua biểu mẫu"
    else:
        assert response.status_code == status
        assert unit.name == before


@pytest.mark.parametrize(("who", "code"), MATRIX)
def test_form_add_organisation(cast, client_for, who, code):
    client = client_for(getattr(cast, who))

    response = client.post(f"/units/{code}/organisations/new/", {"name": "Phòng Văn hóa", "kind": "department"})

    status = expected_status(who, code)
    if status == 200:
        assert response.status_code == 302
        assert Organisation.objects.get().unit.code == code
        assert AuditEvent.objects.filter(action="units.organisation_created", actor=getattr(cast, who)).exists()
    else:
        assert response.status_code == status
        assert not Organisation.objects.exists()


def test_form_errors_are_shown_and_nothing_written(cast, client_for):
    client = client_for(cast.commune_admin)
    response = client.post(f"/units/{COMMUNE}/organisations/new/", {"name": "", "kind": "nonsense"})
    assert response.status_code == 400
    form = response.context["org_form"]
    assert "name" in form.errors
    assert "kind" in form.errors
    assert not Organisation.objects.exists()

    response = client.post(f"/units/{COMMUNE}/edit/", {"name": ""})
    assert response.status_code == 400
    assert "name" in response.context["unit_form"].errors
    cast.commune.refresh_from_db()
    assert cast.commune.name == "Phường Biên Hòa"


def test_unit_pages_refuse_get_on_write_urls(cast, client_for):
    client = client_for(cast.commune_admin)
    assert client.get(f"/units/{COMMUNE}/edit/").status_code == 405
    assert client.get(f"/units/{COMMUNE}/organisations/new/").status_code == 405


# --- Anonymous ------------------------------------------------------------------------------------

API_CALLS = [
    ("get", "/api/v1/units/"),
    ("get", f"/api/v1/units/{COMMUNE}"),
    ("get", f"/api/v1/units/{COMMUNE}/organisations"),
    ("patch", f"/api/v1/units/{COMMUNE}"),
    ("post", f"/api/v1/units/{COMMUNE}/organisations"),
    ("get", "/api/v1/accounts/me"),
    ("get", "/api/v1/accounts/users"),
    ("post", "/api/v1/accounts/users"),
    ("post", "/api/v1/accounts/grants"),
]


@pytest.mark.parametrize(("method", "url"), API_CALLS)
def test_anonymous_api_is_401(cast, method, url):
    response = api_json(Client(), method, url, {"name": "x", "kind": "other"})
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "unauthenticated"
    assert not Organisation.objects.exists()


PAGES = ["/", "/units/", f"/units/{COMMUNE}/", f"/units/{OTHER}/", "/accounts/users/", "/accounts/2fa/verify/"]


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_pages_redirect_to_login(cast, url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_anonymous_form_posts_redirect_and_write_nothing(cast):
    client = Client()
    response = client.post(f"/units/{COMMUNE}/edit/", {"name": "Ẩn danh"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    response = client.post(f"/units/{COMMUNE}/organisations/new/", {"name": "Ẩn danh", "kind": "other"})
    assert response.status_code == 302
    cast.commune.refresh_from_db()
    assert cast.commune.name == "Phường Biên Hòa"
    assert not Organisation.objects.exists()


def test_inactive_account_loses_access(cast, client_for):
    client = client_for(cast.province_editor)
    assert client.get("/api/v1/units/").status_code == 200
    cast.province_editor.is_active = False
    cast.province_editor.save(update_fields=["is_active"])
    response = client.get("/api/v1/units/")
    assert response.status_code == 401
    assert client.get(f"/units/{COMMUNE}/").status_code == 302


def test_revoked_role_loses_access_at_once(cast, client_for):
    from nguon.accounts.actions import do_revoke_role

    client = client_for(cast.commune_editor)
    assert client.get(f"/api/v1/units/{COMMUNE}").status_code == 200
    [grant] = cast.commune_editor.active_grants()
    do_revoke_role(grant, acting_user=None)
    assert client.get(f"/api/v1/units/{COMMUNE}").status_code == 404
    assert client.get("/api/v1/units/").json()["count"] == 0
