"""The shared repository: who sees which bulletins, and how communes take them into their programmes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from nguon.accounts.roles import Role
from nguon.audit.models import AuditEvent
from nguon.conftest import make_user
from nguon.content import actions
from nguon.content.models import Adoption, Bulletin, Priority, Status
from nguon.content.tests.conftest import edit_data, form_data, make_bulletin, publish


def listed(client, url="/bulletins/repository/", **query) -> set[int]:
    response = client.get(url, query)
    assert response.status_code == 200
    return {b.pk for b in response.context["page"]}


@pytest.fixture
def neighbour(cast):
    """An editor of the other commune, 26041."""
    return make_user("editor.tranbien", cast.other_commune, Role.EDITOR)


def province_bulletin(cast, title="Tin của tỉnh", **fields):
    return make_bulletin(cast.province, cast.province_editor, title=title, **fields)


def test_published_province_bulletin_is_in_every_commune_repository(cast, client_for, neighbour):
    bulletin = publish(province_bulletin(cast), editor=cast.province_editor, approver=cast.approver)
    for user in (cast.commune_editor, neighbour, cast.commune_admin):
        client = client_for(user)
        assert bulletin.pk in listed(client), user
        assert bulletin.pk in listed(client, "/bulletins/")
        page = client.get(f"/bulletins/{bulletin.pk}/")
        assert page.status_code == 200
        assert "Tin của tỉnh" in page.content.decode()
        # Seeing is not editing or approving.
        assert page.context["can_edit"] is False and page.context["can_approve"] is False
        assert client.get(f"/bulletins/{bulletin.pk}/edit/").status_code == 403


def test_unpublished_province_bulletins_stay_inside_the_province(cast, client_for):
    draft = province_bulletin(cast, title="Bản nháp")
    submitted = province_bulletin(cast, title="Chờ duyệt")
    actions.do_submit_bulletin(submitted, acting_user=cast.province_editor)
    returned = province_bulletin(cast, title="Bị trả lại")
    actions.do_submit_bulletin(returned, acting_user=cast.province_editor)
    actions.do_return_bulletin(returned, acting_user=cast.approver, comment="Sửa lại")
    scheduled = province_bulletin(cast, title="Hẹn giờ", publish_at=timezone.now() + timedelta(days=2))
    scheduled = publish(scheduled, editor=cast.province_editor, approver=cast.approver)
    assert scheduled.status == Status.APPROVED
    withdrawn = publish(
        province_bulletin(cast, title="Đã thu hồi"), editor=cast.province_editor, approver=cast.approver
    )
    actions.do_withdraw_bulletin(withdrawn, acting_user=cast.approver)
    hidden = [draft, submitted, returned, scheduled, withdrawn]

    commune = client_for(cast.commune_editor)
    assert listed(commune) == set()
    assert listed(commune, "/bulletins/") == set()
    for bulletin in hidden:
        assert commune.get(f"/bulletins/{bulletin.pk}/").status_code == 404, bulletin.title
    # The province's own staff see all of them.
    assert listed(client_for(cast.province_editor), "/bulletins/") == {b.pk for b in hidden}


def test_a_commune_bulletin_is_not_visible_to_the_other_commune(cast, client_for, neighbour):
    bulletin = publish(
        make_bulletin(cast.commune, cast.commune_editor, title="Tin phường Biên Hòa"),
        editor=cast.commune_editor,
        approver=cast.approver,
    )
    assert bulletin.status == Status.PUBLISHED
    assert bulletin.pk in listed(client_for(cast.commune_editor))
    assert bulletin.pk in listed(client_for(cast.province_editor))

    for user in (neighbour, cast.outsider):
        client = client_for(user)
        assert bulletin.pk not in listed(client)
        assert bulletin.pk not in listed(client, "/bulletins/")
        assert bulletin.pk not in listed(client, "/bulletins/", q="Biên Hòa")
        assert client.get(f"/bulletins/{bulletin.pk}/").status_code == 404
        response = client.post(f"/bulletins/{bulletin.pk}/adopt/", {"unit": cast.other_commune.code})
        assert response.status_code in (403, 404)
    assert not Adoption.objects.exists()


def test_communes_read_the_published_revision_while_an_edit_awaits_approval(cast, client_for):
    bulletin = publish(
        province_bulletin(cast, title="Giá nước sạch", body="Giá nước giữ nguyên."),
        editor=cast.province_editor,
        approver=cast.approver,
    )
    province = client_for(cast.province_editor)
    response = province.post(
        f"/bulletins/{bulletin.pk}/edit/", edit_data(bulletin, body="Dự thảo: giá nước tăng 20% từ tháng sau.")
    )
    assert response.status_code == 302
    bulletin.refresh_from_db()
    assert bulletin.status == Status.SUBMITTED and bulletin.published_revision.number == 1

    # The province's staff work on revision 2 ...
    page = province.get(f"/bulletins/{bulletin.pk}/")
    assert page.context["revision"].number == 2
    # ... but the communes still get revision 1, the approved one; the draft text does not reach them.
    commune = client_for(cast.commune_editor)
    assert bulletin.pk in listed(commune)
    page = commune.get(f"/bulletins/{bulletin.pk}/")
    assert page.status_code == 200
    assert page.context["revision"].number == 1
    assert "Giá nước giữ nguyên." in page.content.decode()
    assert "Dự thảo" not in page.content.decode()
    assert "giá nước giữ nguyên" in page.context["speech"]["text"].lower()
    assert "dự thảo" not in page.context["speech"]["text"].lower()
    api = commune.get(f"/api/v1/bulletins/{bulletin.pk}").json()
    assert api["revision"]["number"] == 1 and api["revision"]["body"] == "Giá nước giữ nguyên."
    assert province.get(f"/api/v1/bulletins/{bulletin.pk}").json()["revision"]["number"] == 2
    bulletin.refresh_from_db()
    assert bulletin.current_revision.number == 2  # nothing was changed by showing it


@pytest.mark.parametrize("role", [Role.EDITOR, Role.OPERATOR])
def test_commune_takes_a_normal_bulletin_into_its_programme(cast, client_for, role):
    user = cast.commune_editor if role == Role.EDITOR else make_user("operator.bienhoa", cast.commune, Role.OPERATOR)
    bulletin = publish(province_bulletin(cast), editor=cast.province_editor, approver=cast.approver)
    assert bulletin.priority == Priority.NORMAL
    assert not Adoption.objects.exists()  # normal bulletins are not pushed

    client = client_for(user)
    page = client.get(f"/bulletins/{bulletin.pk}/")
    assert [u.code for u in page.context["adoptable_units"]] == [cast.commune.code]

    response = client.post(f"/bulletins/{bulletin.pk}/adopt/", {"unit": cast.commune.code})
    assert response.status_code == 302
    adoption = Adoption.objects.get()
    assert (adoption.bulletin, adoption.unit, adoption.how, adoption.by) == (
        bulletin,
        cast.commune,
        Adoption.How.CHOSEN,
        user,
    )
    assert AuditEvent.objects.filter(action="content.bulletin_adopted", unit=cast.commune).count() == 1
    assert client.get(f"/bulletins/{bulletin.pk}/").context["adoptable_units"] == []

    # Taking it twice changes nothing; taking it for another commune is refused.
    assert client.post(f"/bulletins/{bulletin.pk}/adopt/", {"unit": cast.commune.code}).status_code == 302
    assert client.post(f"/bulletins/{bulletin.pk}/adopt/", {"unit": cast.other_commune.code}).status_code == 403
    assert Adoption.objects.count() == 1
    assert AuditEvent.objects.filter(action="content.bulletin_adopted").count() == 1


def test_unpublished_bulletins_cannot_be_adopted(cast, client_for):
    draft = province_bulletin(cast)
    client = client_for(cast.commune_editor)
    assert client.post(f"/bulletins/{draft.pk}/adopt/", {"unit": cast.commune.code}).status_code == 404
    # The commune's own draft: visible, but not live.
    own = make_bulletin(cast.commune, cast.commune_editor)
    response = client.post(f"/bulletins/{own.pk}/adopt/", {"unit": cast.commune.code}, follow=True)
    assert response.status_code == 200
    assert not Adoption.objects.exists()


@pytest.mark.parametrize("priority", [Priority.PRIORITY, Priority.EMERGENCY])
def test_priority_and_emergency_bulletins_are_pushed_to_their_targets(cast, client_for, priority):
    province = client_for(cast.province_editor)
    response = province.post(
        "/bulletins/new/",
        form_data(cast.province, title="Cảnh báo mưa lớn", priority=priority, targets=[cast.commune.pk]),
    )
    assert response.status_code == 302, response.content[:800]
    bulletin = Bulletin.objects.get()
    assert [u.code for u in bulletin.current_revision.targets.all()] == [cast.commune.code]
    assert province.post(f"/bulletins/{bulletin.pk}/submit/").status_code == 302
    assert not Adoption.objects.exists()  # nothing is pushed before publication

    approver = client_for(cast.approver)
    assert approver.post(f"/bulletins/{bulletin.pk}/approve/", {"revision": 1}).status_code == 302
    bulletin.refresh_from_db()
    assert bulletin.status == Status.PUBLISHED
    adoption = Adoption.objects.get()
    assert (adoption.bulletin, adoption.unit, adoption.how) == (bulletin, cast.commune, Adoption.How.PUSHED)
    assert not Adoption.objects.filter(unit=cast.other_commune).exists()

    # The commune sees it in its repository, already in its programme.
    commune = client_for(cast.commune_editor)
    assert bulletin.pk in listed(commune)
    page = commune.get(f"/bulletins/{bulletin.pk}/")
    assert [a.unit for a in page.context["adoptions"]] == [cast.commune]
    assert page.context["adoptable_units"] == []

    # Re-approval of a later revision does not push twice.
    actions.do_edit_bulletin(
        bulletin,
        data=actions.BulletinData(
            title="Cảnh báo mưa lớn", body="Mưa lớn kéo dài.", priority=priority, targets=[cast.commune]
        ),
        acting_user=cast.province_editor,
    )
    actions.do_approve_bulletin(bulletin, acting_user=cast.approver, revision_number=2)
    assert Adoption.objects.count() == 1
