"""The /central/ page: links with state and lag for a system administrator; codes, pairing, suspend and resume."""

import pytest
from django.core.management import call_command

from nguon.central import outbox
from nguon.central.models import Link, PairingCode
from nguon.central.tests.federation_fakes import PARENT_URL, instances_fixture  # noqa: F401

pytestmark = pytest.mark.django_db


def test_only_a_system_administrator_sees_the_page(cast, client_for):
    assert client_for(cast.province_admin).get("/central/").status_code == 200
    assert client_for(cast.commune_admin).get("/central/").status_code == 403
    assert client_for(cast.province_editor).post("/central/codes/", {"name": "x"}).status_code == 403


def test_a_code_is_shown_once_then_the_child_pairs_and_the_lag_shows(cast, client_for, instances):
    admin = client_for(cast.province_admin)
    with instances.as_parent():
        response = admin.post("/central/codes/", {"name": "Tỉnh Đồng Nai"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    code = response.context["new_code"]
    assert code in response.content.decode()
    assert code not in admin.get("/central/").content.decode()

    response = admin.post("/central/pair/", {"base_url": PARENT_URL, "code": code}, follow=True)
    assert response.status_code == 200
    parent_link = Link.objects.parents().get()
    outbox.enqueue("test.figures", {"n": 1}, key="f1")
    page = admin.get("/central/")
    row = next(link for link in page.context["links"] if link.pk == parent_link.pk)
    assert row.pending_count == 1 and row.lag is not None
    assert "pair/" not in page.content.decode()  # one parent only: the pairing form is gone

    admin.post(f"/central/links/{parent_link.pk}/suspend/")
    assert Link.objects.get(pk=parent_link.pk).state == Link.State.SUSPENDED
    admin.post(f"/central/links/{parent_link.pk}/resume/")
    assert Link.objects.get(pk=parent_link.pk).state == Link.State.ACTIVE


def test_a_failed_pairing_shows_why(cast, client_for, settings):
    settings.CENTRAL_ALLOW_PRIVATE = False
    response = client_for(cast.province_admin).post("/central/pair/", {"base_url": "http://127.0.0.1:9", "code": "x"})
    assert response.status_code == 400
    assert "refused" in response.content.decode()
    assert not Link.objects.parents().exists()


def test_the_command_prints_a_code_the_child_can_use(instances, capsys):
    with instances.as_parent():
        call_command("central_pair", code_for="Tỉnh Đồng Nai")
    code = capsys.readouterr().out.strip()
    assert PairingCode.objects.get().link.name == "Tỉnh Đồng Nai"
    call_command("central_pair", PARENT_URL, code)
    assert "Paired with" in capsys.readouterr().out
    assert Link.objects.parents().get().state == Link.State.ACTIVE
