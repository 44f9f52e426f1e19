"""The editorial workflow through the back office's real URLs: write, submit, return, edit, approve, publish,
schedule, expire, withdraw; who may approve what."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib import messages
from django.contrib.messages import get_messages

from nguon.accounts.roles import Role
from nguon.audit.models import AuditEvent
from nguon.conftest import make_user
from nguon.content import actions
from nguon.content.models import Bulletin, Revision, Status, WorkflowEvent
from nguon.content.tests.conftest import edit_data, form_data, make_bulletin, publish

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def errors_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request) if m.level == messages.ERROR]


def history(bulletin) -> list[tuple]:
    return list(
        WorkflowEvent.objects.filter(bulletin=bulletin)
        .order_by("at", "id")
        .values_list("action", "from_status", "to_status", "revision__number", "actor__username")
    )


def audit_actions(bulletin) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="content.bulletin", object_id=str(bulletin.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )


def test_write_return_edit_resubmit_and_approve(cast, client_for):
    editor = client_for(cast.commune_editor)
    response = editor.post(
        "/bulletins/new/",
        form_data(cast.commune, title="Thu hút đầu tư vào phường", body="Phường kêu gọi đầu tư hạ tầng."),
    )
    assert response.status_code == 302, response.content[:800]
    bulletin = Bulletin.objects.get()
    assert response["Location"] == f"/bulletins/{bulletin.pk}/"
    assert bulletin.owner_unit == cast.commune and bulletin.author == cast.commune_editor
    assert bulletin.status == Status.DRAFT and bulletin.current_revision.number == 1

    assert editor.post(f"/bulletins/{bulletin.pk}/submit/").status_code == 302
    bulletin.refresh_from_db()
    assert bulletin.status == Status.SUBMITTED

    # The province approver covers the commune: the bulletin is in the inbox.
    approver = client_for(cast.approver)
    inbox = approver.get("/bulletins/inbox/")
    assert inbox.status_code == 200
    assert [b.pk for b in inbox.context["bulletins"]] == [bulletin.pk]
    assert "Thu hút đầu tư vào phường" in inbox.content.decode()

    # Returning needs a comment: empty or blank → 400, nothing changes.
    for empty in ("", "   ", "<b></b>"):
        response = approver.post(f"/bulletins/{bulletin.pk}/return/", {"comment": empty})
        assert response.status_code == 400
        assert response.context["comment_form"].errors["comment"]
        bulletin.refresh_from_db()
        assert bulletin.status == Status.SUBMITTED
    assert not WorkflowEvent.objects.filter(bulletin=bulletin, action=WorkflowEvent.Action.RETURN).exists()

    response = approver.post(f"/bulletins/{bulletin.pk}/return/", {"comment": "Bổ sung thời gian và địa điểm."})
    assert response.status_code == 302
    bulletin.refresh_from_db()
    assert bulletin.status == Status.RETURNED
    assert approver.get("/bulletins/inbox/").context["bulletins"] == []
    # The editor reads why on the bulletin's page.
    assert "Bổ sung thời gian và địa điểm." in editor.get(f"/bulletins/{bulletin.pk}/").content.decode()

    # The edit makes revision 2; revision 1 is kept as it was.
    first = bulletin.current_revision
    response = editor.post(
        f"/bulletins/{bulletin.pk}/edit/",
        edit_data(bulletin, body="Phường kêu gọi đầu tư hạ tầng. Hội nghị lúc 8 giờ ngày 5/3 tại hội trường."),
    )
    assert response.status_code == 302, response.content[:800]
    bulletin.refresh_from_db()
    assert bulletin.current_revision.number == 2
    assert bulletin.status == Status.RETURNED  # still with the editor until sent again
    first_again = Revision.objects.get(bulletin=bulletin, number=1)
    assert first_again.pk == first.pk
    assert first_again.body == "Phường kêu gọi đầu tư hạ tầng."
    assert first_again.content_hash == first.content_hash
    assert bulletin.revisions.count() == 2

    assert editor.post(f"/bulletins/{bulletin.pk}/submit/").status_code == 302
    bulletin.refresh_from_db()
    assert bulletin.status == Status.SUBMITTED

    # Approving the revision read before the edit is a conflict: nothing is approved.
    events_before = WorkflowEvent.objects.count()
    response = approver.post(f"/bulletins/{bulletin.pk}/approve/", {"revision": 1})
    assert response.status_code == 302
    assert errors_of(response), "the approver is told the bulletin changed"
    bulletin.refresh_from_db()
    assert bulletin.status == Status.SUBMITTED
    assert bulletin.approved_revision is None and bulletin.published_revision is None
    assert WorkflowEvent.objects.count() == events_before

    # The detail page offers the approval of the revision on screen.
    page = approver.get(f"/bulletins/{bulletin.pk}/")
    assert page.context["can_approve"] and page.context["revision"].number == 2
    assert 'name="revision" value="2"' in page.content.decode()

    response = approver.post(f"/bulletins/{bulletin.pk}/approve/", {"revision": 2})
    assert response.status_code == 302
    assert not errors_of(response)
    bulletin.refresh_from_db()
    assert bulletin.status == Status.PUBLISHED
    assert bulletin.publish_at is None and bulletin.published_at is not None
    assert bulletin.approved_revision.number == 2 and bulletin.published_revision.number == 2

    editor_name, approver_name = cast.commune_editor.username, cast.approver.username
    assert history(bulletin) == [
        ("create", "", "draft", 1, editor_name),
        ("submit", "draft", "submitted", 1, editor_name),
        ("return", "submitted", "returned", 1, approver_name),
        ("edit", "returned", "returned", 2, editor_name),
        ("submit", "returned", "submitted", 2, editor_name),
        ("approve", "submitted", "approved", 2, approver_name),
        ("publish", "approved", "published", 2, approver_name),
    ]
    assert bulletin.history.get(action="return").comment == "Bổ sung thời gian và địa điểm."
    assert audit_actions(bulletin) == [
        "content.bulletin_created",
        "content.bulletin_submitted",
        "content.bulletin_returned",
        "content.bulletin_edited",
        "content.bulletin_submitted",
        "content.bulletin_approved",
        "content.bulletin_published",
    ]
    approved = AuditEvent.objects.get(object_id=str(bulletin.pk), action="content.bulletin_approved")
    assert approved.actor == cast.approver and approved.unit == cast.commune
    assert approved.changes["revision"] == 2


def test_editing_a_published_bulletin_needs_approval_again(cast, client_for):
    bulletin = make_bulletin(cast.commune, cast.commune_editor, title="Lịch cắt điện", body="Cắt điện thứ Hai.")
    actions.do_edit_bulletin(
        bulletin,
        data=actions.BulletinData(title="Lịch cắt điện", body="Cắt điện thứ Hai, từ 7 giờ đến 11 giờ."),
        acting_user=cast.commune_editor,
    )
    bulletin = publish(Bulletin.objects.get(pk=bulletin.pk), editor=cast.commune_editor, approver=cast.approver)
    assert bulletin.status == Status.PUBLISHED and bulletin.published_revision.number == 2

    editor = client_for(cast.commune_editor)
    form = editor.get(f"/bulletins/{bulletin.pk}/edit/")
    assert form.status_code == 200
    assert form.context["form"].initial["body"] == "Cắt điện thứ Hai, từ 7 giờ đến 11 giờ."

    response = editor.post(
        f"/bulletins/{bulletin.pk}/edit/", edit_data(bulletin, body="Cắt điện thứ Ba, từ 7 giờ đến 11 giờ.")
    )
    assert response.status_code == 302, response.content[:800]
    bulletin.refresh_from_db()
    assert bulletin.current_revision.number == 3
    assert bulletin.status == Status.SUBMITTED
    # Revision 2 stays in use until revision 3 is approved.
    assert bulletin.published_revision.number == 2 and bulletin.approved_revision.number == 2
    assert bulletin.published_revision.body == "Cắt điện thứ Hai, từ 7 giờ đến 11 giờ."
    assert Bulletin.objects.live().filter(pk=bulletin.pk).exists()
    assert list(bulletin.revisions.order_by("number").values_list("number", flat=True)) == [1, 2, 3]
    assert history(bulletin)[-1] == ("edit", "published", "submitted", 3, cast.commune_editor.username)

    # Saving the same content again makes no new revision.
    assert editor.post(f"/bulletins/{bulletin.pk}/edit/", edit_data(bulletin)).status_code == 302
    bulletin.refresh_from_db()
    assert bulletin.current_revision.number == 3 and bulletin.revisions.count() == 3

    approver = client_for(cast.approver)
    assert bulletin.pk in [b.pk for b in approver.get("/bulletins/inbox/").context["bulletins"]]
    assert approver.post(f"/bulletins/{bulletin.pk}/approve/", {"revision": 2}).status_code == 302
    bulletin.refresh_from_db()
    assert bulletin.status == Status.SUBMITTED and bulletin.published_revision.number == 2

    assert approver.post(f"/bulletins/{bulletin.pk}/approve/", {"revision": 3}).status_code == 302
    bulletin.refresh_from_db()
    assert bulletin.status == Status.PUBLISHED
    assert bulletin.approved_revision.number == 3 and bulletin.published_revision.number == 3
    assert [h[0] for h in history(bulletin)[-3:]] == ["edit", "approve", "publish"]


def test_approver_cannot_approve_own_bulletin_unless_the_unit_allows_it(cast, client_for):
    approver = client_for(cast.approver)
    response = approver.post("/bulletins/new/", form_data(cast.province, title="Bản tin của chính tôi"))
    assert response.status_code == 302, response.content[:800]
    bulletin = Bulletin.objects.get()
    assert approver.post(f"/bulletins/{bulletin.pk}/submit/").status_code == 302

    assert approver.get(f"/bulletins/{bulletin.pk}/").context["can_approve"] is False
    response = approver.post(f"/bulletins/{bulletin.pk}/approve/", {"revision": 1})
    assert response.status_code == 403
    bulletin.refresh_from_db()
    assert bulletin.status == Status.SUBMITTED and bulletin.approved_revision is None

    # Nor when another editor wrote it and the approver only edited the latest revision.
    other = make_bulletin(cast.province, cast.province_editor, title="Bản tin do biên tập viên viết")
    actions.do_edit_bulletin(
        other,
        data=actions.BulletinData(title="Bản tin do biên tập viên viết", body="Approver sửa nội dung."),
        acting_user=cast.approver,
    )
    actions.do_submit_bulletin(other, acting_user=cast.province_editor)
    assert approver.post(f"/bulletins/{other.pk}/approve/", {"revision": 2}).status_code == 403
    other.refresh_from_db()
    assert other.status == Status.SUBMITTED

    cast.province.allow_self_approval = True
    cast.province.save()
    assert approver.get(f"/bulletins/{bulletin.pk}/").context["can_approve"] is True
    assert approver.post(f"/bulletins/{bulletin.pk}/approve/", {"revision": 1}).status_code == 302
    bulletin.refresh_from_db()
    assert bulletin.status == Status.PUBLISHED


def test_editor_cannot_approve_return_or_withdraw(cast, client_for):
    bulletin = make_bulletin(cast.commune, cast.commune_editor)
    actions.do_submit_bulletin(bulletin, acting_user=cast.commune_editor)
    editor = client_for(cast.commune_editor)
    assert editor.get("/bulletins/inbox/").status_code == 403
    assert editor.post(f"/bulletins/{bulletin.pk}/approve/", {"revision": 1}).status_code == 403
    assert editor.post(f"/bulletins/{bulletin.pk}/return/", {"comment": "Không"}).status_code == 403
    assert editor.post(f"/bulletins/{bulletin.pk}/withdraw/", {"comment": "Không"}).status_code == 403
    bulletin.refresh_from_db()
    assert bulletin.status == Status.SUBMITTED


def test_approver_of_another_commune_cannot_act(cast, client_for):
    neighbour = make_user("approver.tranbien", cast.other_commune, Role.APPROVER)
    bulletin = make_bulletin(cast.commune, cast.commune_editor, title="Tin phường Biên Hòa")
    actions.do_submit_bulletin(bulletin, acting_user=cast.commune_editor)

    client = client_for(neighbour)
    assert client.get("/bulletins/inbox/").context["bulletins"] == []
    assert client.get(f"/bulletins/{bulletin.pk}/").status_code == 404
    for step, data in (("approve", {"revision": 1}), ("return", {"comment": "Sửa"}), ("withdraw", {})):
        response = client.post(f"/bulletins/{bulletin.pk}/{step}/", data)
        assert response.status_code in (403, 404), step
    bulletin.refresh_from_db()
    assert bulletin.status == Status.SUBMITTED and bulletin.approved_revision is None
    assert list(bulletin.history.values_list("action", flat=True)) == ["create", "submit"]

    # Their own commune's bulletins are theirs to approve.
    own = make_bulletin(cast.other_commune, make_user("editor.tranbien", cast.other_commune, Role.EDITOR))
    actions.do_submit_bulletin(own, acting_user=own.author)
    assert [b.pk for b in client.get("/bulletins/inbox/").context["bulletins"]] == [own.pk]
    assert client.post(f"/bulletins/{own.pk}/approve/", {"revision": 1}).status_code == 302
    own.refresh_from_db()
    assert own.status == Status.PUBLISHED


def test_scheduled_publication_and_expiry(cast, client_for):
    with time_machine.travel(datetime(2026, 3, 2, 8, 0, tzinfo=HCM), tick=False) as traveller:
        editor = client_for(cast.commune_editor)
        response = editor.post(
            "/bulletins/new/",
            form_data(
                cast.commune,
                title="Lịch tiếp công dân tháng 3",
                publish_at="2026-03-05T07:00",
                expires_at="2026-03-10T07:00",
            ),
        )
        assert response.status_code == 302, response.content[:800]
        bulletin = Bulletin.objects.get()
        assert bulletin.publish_at == datetime(2026, 3, 5, 7, 0, tzinfo=HCM)
        assert bulletin.expires_at == datetime(2026, 3, 10, 7, 0, tzinfo=HCM)
        assert editor.post(f"/bulletins/{bulletin.pk}/submit/").status_code == 302

        approver = client_for(cast.approver)
        assert approver.post(f"/bulletins/{bulletin.pk}/approve/", {"revision": 1}).status_code == 302
        bulletin.refresh_from_db()
        assert bulletin.status == Status.APPROVED
        assert bulletin.approved_revision.number == 1 and bulletin.published_revision is None
        assert not Bulletin.objects.live().filter(pk=bulletin.pk).exists()
        assert actions.do_publish_due() == 0  # nothing due yet

        assert actions.do_publish_due(now=datetime(2026, 3, 5, 6, 59, tzinfo=HCM)) == 0
        bulletin.refresh_from_db()
        assert bulletin.status == Status.APPROVED

        traveller.move_to(datetime(2026, 3, 5, 7, 0, 30, tzinfo=HCM))
        editor = client_for(cast.commune_editor)  # the session of three days ago has expired
        assert actions.do_publish_due() == 1
        assert actions.do_publish_due() == 0  # only once
        bulletin.refresh_from_db()
        assert bulletin.status == Status.PUBLISHED
        assert bulletin.published_revision.number == 1
        assert bulletin.published_at == datetime(2026, 3, 5, 7, 0, 30, tzinfo=HCM)
        assert Bulletin.objects.live().filter(pk=bulletin.pk).exists()
        assert bulletin.pk in [b.pk for b in editor.get("/bulletins/repository/").context["page"]]

        assert actions.do_expire_due(now=datetime(2026, 3, 10, 6, 59, tzinfo=HCM)) == 0
        assert actions.do_expire_due(now=datetime(2026, 3, 10, 7, 0, tzinfo=HCM)) == 1
        bulletin.refresh_from_db()
        assert bulletin.status == Status.ARCHIVED
        assert not Bulletin.objects.live().filter(pk=bulletin.pk).exists()
        assert bulletin.pk not in [b.pk for b in editor.get("/bulletins/repository/").context["page"]]

    assert history(bulletin)[-3:] == [
        ("approve", "submitted", "approved", 1, cast.approver.username),
        ("publish", "approved", "published", 1, None),
        ("expire", "published", "archived", 1, None),
    ]
    assert audit_actions(bulletin)[-2:] == ["content.bulletin_published", "content.bulletin_expired"]


def test_editing_an_approved_scheduled_bulletin_stops_its_publication(cast, client_for):
    with time_machine.travel(datetime(2026, 3, 2, 8, 0, tzinfo=HCM), tick=False):
        bulletin = make_bulletin(cast.commune, cast.commune_editor, publish_at=datetime(2026, 3, 5, 7, 0, tzinfo=HCM))
        bulletin = publish(bulletin, editor=cast.commune_editor, approver=cast.approver)
        assert bulletin.status == Status.APPROVED

        editor = client_for(cast.commune_editor)
        response = editor.post(f"/bulletins/{bulletin.pk}/edit/", edit_data(bulletin, body="Nội dung đã đổi."))
        assert response.status_code == 302, response.content[:800]
        bulletin.refresh_from_db()
        assert bulletin.status == Status.SUBMITTED and bulletin.current_revision.number == 2
        assert bulletin.approved_revision.number == 1 and bulletin.published_revision is None
        assert bulletin.publish_at == datetime(2026, 3, 5, 7, 0, tzinfo=HCM)

    # The unapproved revision is not published when its time comes.
    assert actions.do_publish_due(now=datetime(2026, 3, 5, 7, 1, tzinfo=HCM)) == 0
    bulletin.refresh_from_db()
    assert bulletin.status == Status.SUBMITTED and bulletin.published_revision is None


def test_approval_after_the_scheduled_time_publishes_at_once(cast):
    with time_machine.travel(datetime(2026, 3, 6, 9, 0, tzinfo=HCM), tick=False):
        bulletin = make_bulletin(cast.commune, cast.commune_editor, publish_at=datetime(2026, 3, 5, 7, 0, tzinfo=HCM))
        bulletin = publish(bulletin, editor=cast.commune_editor, approver=cast.approver)
        assert bulletin.status == Status.PUBLISHED
        assert bulletin.published_at == datetime(2026, 3, 6, 9, 0, tzinfo=HCM)


def test_approver_withdraws_a_published_bulletin(cast, client_for):
    bulletin = publish(
        make_bulletin(cast.commune, cast.commune_editor), editor=cast.commune_editor, approver=cast.approver
    )
    assert bulletin.status == Status.PUBLISHED
    approver = client_for(cast.approver)
    page = approver.get(f"/bulletins/{bulletin.pk}/")
    assert page.context["can_withdraw"] is True

    response = approver.post(f"/bulletins/{bulletin.pk}/withdraw/", {"comment": "Thông tin đã thay đổi."})
    assert response.status_code == 302
    bulletin.refresh_from_db()
    assert bulletin.status == Status.WITHDRAWN
    assert not Bulletin.objects.live().filter(pk=bulletin.pk).exists()
    assert history(bulletin)[-1] == ("withdraw", "published", "withdrawn", 1, cast.approver.username)
    assert bulletin.history.last().comment == "Thông tin đã thay đổi."
    assert audit_actions(bulletin)[-1] == "content.bulletin_withdrawn"

    # A withdrawn bulletin can be neither edited nor withdrawn again.
    editor = client_for(cast.commune_editor)
    response = editor.post(f"/bulletins/{bulletin.pk}/edit/", edit_data(bulletin, body="Nội dung mới."))
    assert response.status_code == 400
    assert bulletin.revisions.count() == 1
    events = bulletin.history.count()
    response = approver.post(f"/bulletins/{bulletin.pk}/withdraw/", {"comment": "Lần nữa"})
    assert errors_of(response)
    assert bulletin.history.count() == events


@pytest.mark.parametrize("step", ["submit", "approve", "return", "withdraw", "adopt"])
def test_workflow_steps_need_post(cast, client_for, step):
    bulletin = make_bulletin(cast.commune, cast.commune_editor)
    client = client_for(cast.commune_editor)
    assert client.get(f"/bulletins/{bulletin.pk}/{step}/").status_code == 405
    bulletin.refresh_from_db()
    assert bulletin.status == Status.DRAFT
