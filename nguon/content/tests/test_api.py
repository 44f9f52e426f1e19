"""The JSON API under /api/v1/bulletins: the same workflow, errors as {"error": {"code": ...}}, scope as 404."""

import json

import pytest
from django.test import Client

from nguon.accounts.roles import Role
from nguon.conftest import make_user
from nguon.content.models import Adoption, Bulletin, Revision, Status
from nguon.content.tests.conftest import counts, make_bulletin, publish

API = "/api/v1/bulletins"


def call(client, method, path, payload=None):
    kwargs = {}
    if payload is not None:
        kwargs = {"data": json.dumps(payload), "content_type": "application/json"}
    return getattr(client, method)(f"{API}{path}", **kwargs)


def error(response, status, code=None) -> dict:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body
    return body["error"]


def new_bulletin(unit_code="26068", **fields):
    return {
        "owner_unit": unit_code,
        "title": "Thông báo thu gom rác",
        "body": "Xe thu gom rác đi qua các tổ dân phố lúc 17 giờ hằng ngày.",
        **fields,
    }


def test_create_list_get_submit_return_edit_approve(cast, client_for):
    editor = client_for(cast.commune_editor)
    response = call(editor, "post", "/", new_bulletin(category="van-hoa-xa-hoi-moi-truong"))
    assert response.status_code == 201, response.content[:500]
    created = response.json()
    bulletin_id = created["id"]
    assert created["status"] == "draft" and created["owner_unit"] == "26068"
    assert created["current_revision"] == 1 and created["published_revision"] is None
    assert created["category"] == "van-hoa-xa-hoi-moi-truong"
    assert created["revision"]["number"] == 1 and created["revision"]["title"] == "Thông báo thu gom rác"

    listing = call(editor, "get", "/").json()
    assert listing["count"] == 1 and [b["id"] for b in listing["items"]] == [bulletin_id]
    assert call(editor, "get", f"/{bulletin_id}").json()["revision"]["body"].startswith("Xe thu gom rác")

    response = call(editor, "post", f"/{bulletin_id}/submit")
    assert response.status_code == 200 and response.json()["status"] == "submitted"
    error(call(editor, "post", f"/{bulletin_id}/submit"), 409, "wrong_status")

    approver = client_for(cast.approver)
    assert [b["id"] for b in call(approver, "get", "/?status=submitted").json()["items"]] == [bulletin_id]
    problem = error(call(approver, "post", f"/{bulletin_id}/return", {"comment": "  "}), 400, "invalid")
    assert problem["fields"]["comment"]
    assert Bulletin.objects.get(pk=bulletin_id).status == Status.SUBMITTED
    response = call(approver, "post", f"/{bulletin_id}/return", {"comment": "Ghi rõ giờ thu gom ngày lễ."})
    assert response.status_code == 200 and response.json()["status"] == "returned"

    response = call(editor, "put", f"/{bulletin_id}", new_bulletin(body="Xe thu gom rác lúc 17 giờ, ngày lễ 7 giờ."))
    assert response.status_code == 200, response.content[:500]
    assert response.json()["current_revision"] == 2 and response.json()["status"] == "returned"
    assert Revision.objects.get(bulletin_id=bulletin_id, number=1).body.startswith("Xe thu gom rác đi qua")
    assert call(editor, "post", f"/{bulletin_id}/submit").json()["status"] == "submitted"

    stale = error(call(approver, "post", f"/{bulletin_id}/approve", {"revision": 1}), 409, "stale_revision")
    assert "2" in stale["message"]
    assert Bulletin.objects.get(pk=bulletin_id).status == Status.SUBMITTED

    response = call(approver, "post", f"/{bulletin_id}/approve", {"revision": 2})
    assert response.status_code == 200, response.content[:500]
    approved = response.json()
    assert approved["status"] == "published"
    assert approved["approved_revision"] == 2 and approved["published_revision"] == 2
    assert approved["published_at"] is not None
    assert [b["id"] for b in call(editor, "get", "/?live=true").json()["items"]] == [bulletin_id]

    response = call(approver, "post", f"/{bulletin_id}/withdraw", {"comment": "Hết hiệu lực"})
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"


def test_bulletins_outside_scope_are_404(cast, client_for):
    bulletin = make_bulletin(cast.commune, cast.commune_editor)
    neighbour_editor = make_user("editor.tranbien", cast.other_commune, Role.EDITOR)
    neighbour_approver = make_user("approver.tranbien", cast.other_commune, Role.APPROVER)
    for user in (neighbour_editor, neighbour_approver, cast.outsider):
        client = client_for(user)
        error(call(client, "get", f"/{bulletin.pk}"), 404, "not_found")
        error(call(client, "put", f"/{bulletin.pk}", new_bulletin()), 404, "not_found")
        error(call(client, "post", f"/{bulletin.pk}/submit"), 404, "not_found")
        error(call(client, "post", f"/{bulletin.pk}/approve", {"revision": 1}), 404, "not_found")
        error(call(client, "post", f"/{bulletin.pk}/return", {"comment": "Sửa"}), 404, "not_found")
        assert call(client, "get", "/").json()["count"] == 0
    error(call(client_for(cast.commune_editor), "get", "/999999"), 404, "not_found")
    bulletin.refresh_from_db()
    assert bulletin.status == Status.DRAFT and bulletin.revisions.count() == 1


def test_who_may_do_what(cast, client_for):
    bulletin = make_bulletin(cast.commune, cast.commune_editor)
    editor = client_for(cast.commune_editor)
    call(editor, "post", f"/{bulletin.pk}/submit")
    error(call(editor, "post", f"/{bulletin.pk}/approve", {"revision": 1}), 403, "forbidden")
    error(call(editor, "post", f"/{bulletin.pk}/return", {"comment": "Tự trả"}), 403, "forbidden")

    # The approver's own bulletin.
    approver = client_for(cast.approver)
    own = call(approver, "post", "/", new_bulletin("75")).json()
    call(approver, "post", f"/{own['id']}/submit")
    error(call(approver, "post", f"/{own['id']}/approve", {"revision": 1}), 403, "self_approval")

    # A published province bulletin: the commune reads it but cannot change it.
    province = publish(
        make_bulletin(cast.province, cast.province_editor), editor=cast.province_editor, approver=cast.approver
    )
    assert call(editor, "get", f"/{province.pk}").status_code == 200
    error(call(editor, "put", f"/{province.pk}", new_bulletin("75")), 403, "forbidden")
    error(call(editor, "post", f"/{province.pk}/withdraw", {"comment": "x"}), 403, "forbidden")
    assert Bulletin.objects.get(pk=province.pk).status == Status.PUBLISHED

    response = call(editor, "post", f"/{province.pk}/adopt", {"unit": "26068"})
    assert response.status_code == 200
    assert Adoption.objects.get().how == Adoption.How.CHOSEN
    error(call(editor, "post", f"/{province.pk}/adopt", {"unit": "26041"}), 404, "not_found")


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        (new_bulletin(title=""), 400, "title"),
        (new_bulletin(body="🙂🙂🙂"), 400, "body"),
        (new_bulletin(body="x" * 200_000), 400, "body"),
        (new_bulletin(body="<script>alert(1)</script>"), 400, "body"),
        (new_bulletin(priority="urgent"), 400, "priority"),
        (new_bulletin(category="khong-co"), 400, "category"),
        (new_bulletin(targets=["26041"]), 400, "targets"),
        (new_bulletin(targets=["99999"]), 400, "targets"),
        (
            new_bulletin(publish_at="2030-05-02T08:00:00+07:00", expires_at="2030-05-01T08:00:00+07:00"),
            400,
            "expires_at",
        ),
        ({"owner_unit": "26068", "body": "Thiếu tiêu đề"}, 422, "title"),
        ({"owner_unit": "26068", "title": "Thiếu nội dung"}, 422, "body"),
        (new_bulletin(publish_at="ngày mai"), 422, "publish_at"),
        (new_bulletin(targets="26068"), 422, "targets"),
    ],
    ids=[
        "empty-title",
        "emoji-body",
        "long-body",
        "script-body",
        "priority",
        "category",
        "target-outside",
        "target-unknown",
        "expiry",
        "missing-title",
        "missing-body",
        "bad-date",
        "targets-not-a-list",
    ],
)
def test_bad_input_is_refused_with_field_errors(cast, client_for, payload, status, field):
    client = client_for(cast.province_editor)
    before = counts()
    problem = error(call(client, "post", "/", payload), status)
    assert field in problem["fields"], problem
    assert counts() == before


def test_bad_edit_keeps_the_revisions(cast, client_for):
    bulletin = make_bulletin(cast.commune, cast.commune_editor, body="Nội dung gốc.")
    client = client_for(cast.commune_editor)
    before = counts()
    error(call(client, "put", f"/{bulletin.pk}", new_bulletin(body="")), 400, "invalid")
    error(call(client, "put", f"/{bulletin.pk}", {"title": "Chỉ có tiêu đề"}), 422, "invalid")
    assert counts() == before
    assert Revision.objects.get(bulletin=bulletin).body == "Nội dung gốc."


def test_creating_outside_ones_units(cast, client_for):
    client = client_for(cast.commune_editor)
    error(call(client, "post", "/", new_bulletin("26041")), 404, "not_found")
    error(call(client, "post", "/", new_bulletin("75")), 404, "not_found")
    operator = make_user("operator.bienhoa", cast.commune, Role.OPERATOR)
    error(call(client_for(operator), "post", "/", new_bulletin("26068")), 403, "forbidden")
    assert not Bulletin.objects.exists()


def test_markup_is_cleaned_through_the_api(cast, client_for):
    client = client_for(cast.commune_editor)
    response = call(
        client,
        "post",
        "/",
        new_bulletin(
            body="Nội dung<script>alert(1)</script> sạch.",
            web_html='<a href="javascript:alert(1)" onclick="x()">xem</a><p>ok</p>',
        ),
    )
    assert response.status_code == 201
    revision = response.json()["revision"]
    assert revision["body"] == "Nội dung sạch."
    assert "javascript" not in revision["web_html"] and "onclick" not in revision["web_html"]
    assert "<p>ok</p>" in revision["web_html"]


def test_signed_out_and_unverified_callers(cast):
    error(call(Client(), "get", "/"), 401, "unauthenticated")
    error(call(Client(), "post", "/", new_bulletin()), 401, "unauthenticated")
    unverified = Client()
    unverified.force_login(cast.approver)  # a password alone is not enough for an approver
    error(call(unverified, "get", "/"), 403, "two_factor_required")
    assert not Bulletin.objects.exists()


def test_list_filters_and_pages(cast, client_for):
    for n in range(3):
        make_bulletin(cast.commune, cast.commune_editor, title=f"Tin số {n}")
    publish(
        make_bulletin(cast.province, cast.province_editor, title="Tin tỉnh"),
        editor=cast.province_editor,
        approver=cast.approver,
    )
    client = client_for(cast.commune_editor)
    assert call(client, "get", "/").json()["count"] == 4
    page = call(client, "get", "/?limit=2&offset=0").json()
    assert page["count"] == 4 and len(page["items"]) == 2
    assert call(client, "get", "/?unit=75").json()["count"] == 1
    assert call(client, "get", "/?status=draft").json()["count"] == 3
    assert call(client, "get", "/?q=tin so").json()["count"] == 3
    assert call(client, "get", "/?q=tin so&status=published").json()["count"] == 0
