"""Partner API keys: issue, verify, revoke, the back-office page and the command."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client

from nguon.audit.models import AuditEvent
from nguon.core.errors import Forbidden, Invalid
from nguon.feedback.models import PartnerKey
from nguon.feedback.open311.keys import issue_key, revoke_key, verify_key
from nguon.feedback.tests.helpers import street_lights

pytestmark = pytest.mark.django_db


def test_issue_verify_revoke(cast):
    key, plain = issue_key("Zalo mini app", unit=cast.commune, acting_user=cast.province_admin)
    assert plain.startswith(f"o311_{key.prefix}_") and len(plain) > 50
    assert plain not in key.key_hash and key.prefix not in key.key_hash
    assert verify_key(plain) == key
    key.refresh_from_db()
    assert key.last_used_at is not None and key.created_by == cast.province_admin
    assert verify_key(plain[:-1] + ("A" if plain[-1] != "A" else "B")) is None
    assert verify_key(f"o311_{key.prefix}_") is None
    assert verify_key("") is None and verify_key("o311_short_x") is None
    audit = AuditEvent.objects.get(action="feedback.key_issued")
    assert audit.changes == {"name": "Zalo mini app", "prefix": key.prefix, "scope": "26068", "can_submit": True}
    revoke_key(key, acting_user=cast.province_admin)
    assert verify_key(plain) is None
    assert AuditEvent.objects.filter(action="feedback.key_revoked").count() == 1
    revoke_key(key, acting_user=cast.province_admin)  # twice: nothing more happens
    assert AuditEvent.objects.filter(action="feedback.key_revoked").count() == 1


def test_only_root_administrators_manage_keys(cast):
    with pytest.raises(Forbidden):
        issue_key("X", acting_user=cast.commune_admin)
    key, _plain = issue_key("X")
    with pytest.raises(Forbidden):
        revoke_key(key, acting_user=cast.commune_admin)
    with pytest.raises(Invalid):
        issue_key("   ")
    with pytest.raises(Invalid):
        issue_key("bad\x00name")


def test_the_back_office_page(cast, client_for):
    admin = client_for(cast.province_admin)
    response = admin.get("/feedback/partner-keys/")
    assert response.status_code == 200
    response = admin.post(
        "/feedback/partner-keys/", {"name": "Ứng dụng phường", "unit": cast.commune.pk, "can_submit": "on"}
    )
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    plain = response.context["plain_key"]
    assert plain.encode() in response.content
    key = verify_key(plain)
    assert key.unit == cast.commune and key.can_submit
    # Shown once: the list afterwards carries the prefix, never the key.
    again = admin.get("/feedback/partner-keys/")
    assert key.prefix.encode() in again.content and plain.encode() not in again.content
    assert admin.post("/feedback/partner-keys/", {"name": ""}).status_code == 400
    response = admin.post(f"/feedback/partner-keys/{key.pk}/revoke/")
    assert response.status_code == 302 and verify_key(plain) is None
    commune_admin = client_for(cast.commune_admin)
    assert commune_admin.get("/feedback/partner-keys/").status_code == 403
    other, other_plain = issue_key("Other")
    assert commune_admin.post(f"/feedback/partner-keys/{other.pk}/revoke/").status_code == 403
    assert verify_key(other_plain) == other
    assert Client().get("/feedback/partner-keys/").status_code == 302


def test_the_command_prints_a_working_key(cast):
    street_lights()
    out, err = io.StringIO(), io.StringIO()
    call_command("open311_key", "Cổng dịch vụ công", "--unit", "26068", stdout=out, stderr=err)
    plain = out.getvalue().splitlines()[0]
    key = verify_key(plain)
    assert key.name == "Cổng dịch vụ công" and key.unit == cast.commune and key.can_submit
    assert key.prefix in err.getvalue()
    response = Client().post(
        "/open311/requests.json",
        {"api_key": plain, "service_code": "den-duong", "address_string": "Chợ Biên Hòa",
         "attribute[commune]": "26068", "description": "Đèn chợ hỏng"},
    )  # fmt: skip
    assert response.status_code == 200
    out = io.StringIO()
    call_command("open311_key", "Bảng số liệu", "--read-only", stdout=out, stderr=io.StringIO())
    assert verify_key(out.getvalue().splitlines()[0]).can_submit is False
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("open311_key", "X", "--unit", "999", stdout=io.StringIO(), stderr=io.StringIO())
    assert PartnerKey.objects.count() == 2
