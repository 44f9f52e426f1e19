"""The staff JSON API under /api/v1/feedback: scope as 404, the steps, contact details audited, errors as JSON."""

from __future__ import annotations

import json

import pytest

from nguon.audit.models import AuditEvent
from nguon.feedback.models import Status
from nguon.feedback.tests.helpers import submit
from nguon.units.models import Organisation, OrganisationKind

pytestmark = pytest.mark.django_db

API = "/api/v1/feedback"


def call(client, method, path, payload=None, **params):
    if method == "get":
        return client.get(f"{API}{path}", params)
    return client.post(f"{API}{path}", data=json.dumps(payload or {}), content_type="application/json")


def error(response, status, code=None) -> dict:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body
    return body["error"]


def test_list_and_detail_are_scoped(cast, client_for):
    here, _code = submit(cast)
    there, _code = submit(cast, unit=cast.other_commune, text="Rác thải đổ trộm ở đầu hẻm 5.")
    commune = client_for(cast.commune_editor)
    body = call(commune, "get", "/").json()
    assert [item["number"] for item in body["items"]] == [here.number] and body["next_offset"] is None
    item = body["items"][0]
    assert item["unit"] == "26068" and item["status"] == "received" and item["overdue"] is False
    assert "phone" not in item and "email" not in item and "name" not in item
    detail = call(commune, "get", f"/{here.pk}").json()
    assert detail["text"] and detail["has_contact"] is True and "phone" not in detail
    assert detail["events"][0]["action"] == "submit"
    error(call(commune, "get", f"/{there.pk}"), 404, "not_found")
    error(call(commune, "post", f"/{there.pk}/accept"), 404)

    province = client_for(cast.province_editor)
    assert len(call(province, "get", "/").json()["items"]) == 2
    assert [i["number"] for i in call(province, "get", "/", q="rac thai").json()["items"]] == [there.number]
    assert [i["number"] for i in call(province, "get", "/", unit="26041").json()["items"]] == [there.number]
    assert call(province, "get", "/", status="open", sort="due", limit=1).json()["next_offset"] == 1
    error(call(province, "get", "/", topic="nope"), 400, "invalid")

    outsider = client_for(cast.outsider)
    assert call(outsider, "get", "/").json()["items"] == []
    error(call(outsider, "get", f"/{here.pk}"), 404)
    error(call(outsider, "post", f"/{here.pk}/contact"), 404)
    from django.test import Client

    error(Client().get(f"{API}/"), 401)


def test_the_steps_and_contact_details(cast, client_for):
    feedback, _code = submit(cast)
    editor = client_for(cast.commune_editor)
    url = f"/{feedback.pk}"
    contact = call(editor, "post", f"{url}/contact")
    assert contact.status_code == 200 and contact.json() == {
        "name": "Nguyễn Văn An",
        "phone": "0912 345 678",
        "email": "an@example.org",
    }
    assert AuditEvent.objects.filter(action="feedback.contact_viewed", actor=cast.commune_editor).count() == 1
    assert call(editor, "post", f"{url}/accept").json()["status"] == "accepted"
    error(call(editor, "post", f"{url}/accept"), 409)
    error(call(editor, "post", f"{url}/assign", {"assignee": cast.outsider.pk}), 400, "invalid")
    body = call(editor, "post", f"{url}/assign", {"assignee": cast.province_editor.pk}).json()
    assert body["assignee"] == cast.province_editor.username
    # Now only the assignee sees the contact details.
    error(call(editor, "post", f"{url}/contact"), 403, "forbidden")
    assert call(client_for(cast.province_editor), "post", f"{url}/contact").status_code == 200
    assert call(editor, "post", f"{url}/start").json()["status"] == "in_progress"
    assert call(editor, "post", f"{url}/note", {"text": "Đã liên hệ điện lực."}).json()["events"][-1]["public"] is False
    error(call(editor, "post", f"{url}/draft", {"answer": ""}), 400)
    assert call(editor, "post", f"{url}/draft", {"answer": "Đã thay bóng."}).json()["status"] == "drafted"
    error(call(editor, "post", f"{url}/approve", {}), 403)
    approver = client_for(cast.approver)
    assert call(approver, "post", f"{url}/return", {"comment": "Ghi ngày."}).json()["status"] == "in_progress"
    call(editor, "post", f"{url}/draft", {"answer": "Đã thay bóng ngày 4/12."})
    assert call(approver, "post", f"{url}/approve", {"send": False}).json()["status"] == "approved"
    assert call(editor, "post", f"{url}/send").json()["status"] == "answered"
    assert call(editor, "post", f"{url}/close").json()["status"] == "closed"


def test_refuse_and_transfer(cast, client_for):
    original, _code = submit(cast)
    copy, _code = submit(cast)
    editor = client_for(cast.commune_editor)
    fields = error(call(editor, "post", f"/{copy.pk}/refuse", {"reason": "duplicate"}), 400)["fields"]
    assert "duplicate_of" in fields
    body = call(editor, "post", f"/{copy.pk}/refuse", {"reason": "duplicate", "duplicate_of": original.number}).json()
    assert body["status"] == Status.REFUSED and body["duplicate_of"] == original.number
    team = Organisation.objects.create(unit=cast.commune, name="Đội quản lý đô thị", kind=OrganisationKind.OTHER)
    error(call(editor, "post", f"/{original.pk}/transfer", {"organisation": team.pk, "reason": ""}), 400)
    body = call(editor, "post", f"/{original.pk}/transfer", {"organisation": team.pk, "reason": "Thuộc đội."}).json()
    assert body["handler_organisation"] == team.name and body["status"] == "received"
