"""The back-office pages: scoping, the steps through their URLs, contact details, files and staff entry."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from nguon.audit.models import AuditEvent
from nguon.feedback.actions import do_accept_feedback, do_assign_feedback, do_draft_answer
from nguon.feedback.models import STAFF_CHANNELS, Attachment, Channel, Feedback, RefusalReason, Status
from nguon.feedback.tests.helpers import street_lights, submit
from nguon.units.models import Organisation, OrganisationKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(cast):
    """One feedback in each commune."""
    here, _code = submit(cast)
    there, _code = submit(cast, unit=cast.other_commune, text="Rác thải đổ trộm ở đầu hẻm 5.")
    return here, there


def test_the_commune_sees_its_own_feedback_the_province_all_an_outsider_nothing(cast, client_for, two):
    here, there = two
    commune = client_for(cast.commune_editor)
    page = commune.get("/feedback/").content.decode()
    assert here.number in page and there.number not in page
    assert commune.get(f"/feedback/{here.pk}/").status_code == 200
    assert commune.get(f"/feedback/{there.pk}/").status_code == 404
    assert commune.post(f"/feedback/{there.pk}/accept/").status_code == 404
    assert commune.post(f"/feedback/{there.pk}/contact/").status_code == 404

    province = client_for(cast.province_editor)
    page = province.get("/feedback/").content.decode()
    assert here.number in page and there.number in page
    assert province.get(f"/feedback/{there.pk}/").status_code == 200

    outsider = client_for(cast.outsider)
    assert outsider.get("/feedback/").status_code == 403
    assert outsider.get(f"/feedback/{here.pk}/").status_code == 404
    assert outsider.post(f"/feedback/{here.pk}/accept/").status_code == 404
    assert Feedback.objects.get(pk=here.pk).status == Status.RECEIVED


def test_a_feedback_handled_by_the_province_is_seen_by_the_commune_it_is_about(cast, client_for):
    department = Organisation.objects.create(unit=cast.province, name="Sở Xây dựng", kind=OrganisationKind.DEPARTMENT)
    topic = street_lights()
    topic.organisation = department
    topic.save()
    feedback, _code = submit(cast, unit=cast.other_commune)
    assert feedback.handler_unit == cast.province
    # The other commune has no account in the cast; the commune editor of 26068 sees nothing of it.
    assert client_for(cast.commune_editor).get(f"/feedback/{feedback.pk}/").status_code == 404
    assert client_for(cast.province_editor).get(f"/feedback/{feedback.pk}/").status_code == 200


def test_the_list_filters(cast, client_for, two):
    here, there = two
    province = client_for(cast.province_editor)

    def numbers(query):
        html = province.get("/feedback/", query).content.decode()
        return {f.number for f in (here, there) if f.number in html}

    assert numbers({"unit": cast.commune.pk}) == {here.number}
    assert numbers({"q": "rac thai"}) == {there.number}  # without diacritics
    assert numbers({"q": "Rác thải"}) == {there.number}
    assert numbers({"q": here.number}) == {here.number}
    assert numbers({"status": "received"}) == {here.number, there.number}
    assert numbers({"status": "closed"}) == set()
    do_accept_feedback(here, acting_user=cast.commune_editor)
    assert numbers({"status": "accepted", "sort": "due"}) == {here.number}
    assert numbers({"status": "open"}) == {here.number, there.number}
    assert numbers({"channel": "phone"}) == set()
    assert numbers({"mine": "on"}) == set()
    assert numbers({"overdue": "on"}) == set()
    assert numbers({"date_from": "2000-01-01", "date_to": "2000-01-02"}) == set()
    # htmx asks for the rows only.
    rows = province.get("/feedback/", {"q": "rac"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<h1>" not in rows and there.number in rows


def test_the_list_does_not_query_per_row(cast, client_for, django_assert_max_num_queries):
    client = client_for(cast.province_editor)
    for _ in range(3):
        feedback, _code = submit(cast)
        do_accept_feedback(feedback, acting_user=cast.commune_editor)
    client.get("/feedback/")  # warm caches (topics, session)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get("/feedback/")
    for _ in range(12):
        feedback, _code = submit(cast, unit=cast.other_commune)
        do_assign_feedback(
            do_accept_feedback(feedback, acting_user=cast.province_editor),
            acting_user=cast.province_editor,
            assignee=cast.province_editor,
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/feedback/", {"sort": "due"})
    assert response.content.decode().count("/feedback/") >= 15
    # No COUNT(*) over the table.
    assert not any("COUNT(" in q["sql"].upper() and "feedback_feedback" in q["sql"] for q in few.captured_queries)


def test_the_steps_through_the_urls(cast, client_for, django_capture_on_commit_callbacks):
    feedback, _code = submit(cast)
    editor = client_for(cast.commune_editor)
    url = f"/feedback/{feedback.pk}/"
    page = editor.get(url).content.decode()
    assert "accept/" in page and "Duyệt và gửi" not in page
    assert editor.post(url + "accept/").status_code == 302
    feedback.refresh_from_db()
    assert feedback.status == Status.ACCEPTED and feedback.due_at
    assert editor.post(url + "assign/", {"assign-assignee": cast.commune_editor.pk}).status_code == 302
    assert Feedback.objects.get(pk=feedback.pk).assignee == cast.commune_editor
    assert editor.post(url + "start/").status_code == 302
    # An empty answer comes back on its form, nothing saved.
    response = editor.post(url + "draft/", {"draft-answer": "   "})
    assert response.status_code == 400 and "field-error" in response.content.decode()
    assert Feedback.objects.get(pk=feedback.pk).status == Status.IN_PROGRESS
    assert editor.post(url + "draft/", {"draft-answer": "Đã thay bóng đèn."}).status_code == 302
    assert Feedback.objects.get(pk=feedback.pk).status == Status.DRAFTED
    # The editor may not approve: the step is not offered, and posting it is refused.
    assert editor.post(url + "approve/").status_code == 403
    approver = client_for(cast.approver)
    assert "approve/" in approver.get(url).content.decode()
    response = approver.post(url + "return/", {"return-comment": ""})
    assert response.status_code == 400
    assert approver.post(url + "return/", {"return-comment": "Ghi rõ ngày thay."}).status_code == 302
    assert Feedback.objects.get(pk=feedback.pk).status == Status.IN_PROGRESS
    editor.post(url + "draft/", {"draft-answer": "Đã thay bóng đèn ngày 4/12."})
    with django_capture_on_commit_callbacks(execute=True):
        assert approver.post(url + "approve/").status_code == 302
    assert Feedback.objects.get(pk=feedback.pk).status == Status.ANSWERED
    assert editor.post(url + "close/").status_code == 302
    assert Feedback.objects.get(pk=feedback.pk).status == Status.CLOSED
    # A step not possible now is an error message, not a crash.
    response = editor.post(url + "accept/", follow=True)
    assert response.status_code == 200 and Feedback.objects.get(pk=feedback.pk).status == Status.CLOSED
    assert editor.post(url + "dance/").status_code == 404
    # The history shows every step with the internal ones.
    page = editor.get(url).content.decode()
    assert "Ghi rõ ngày thay." in page


def test_refuse_note_and_transfer_forms(cast, client_for):
    original, _code = submit(cast)
    copy, _code = submit(cast, text="Đèn đường trước số 12 Phan Trung vẫn hỏng.")
    editor = client_for(cast.commune_editor)
    url = f"/feedback/{copy.pk}/"
    response = editor.post(url + "refuse/", {"refuse-reason": RefusalReason.DUPLICATE, "refuse-duplicate_of": ""})
    assert response.status_code == 400
    assert "Ghi số của phản ánh" in response.content.decode() or "field-error" in response.content.decode()
    response = editor.post(url + "refuse/", {"refuse-reason": "duplicate", "refuse-duplicate_of": "PA-1999-000001"})
    assert response.status_code == 400
    assert Feedback.objects.get(pk=copy.pk).status == Status.RECEIVED
    response = editor.post(
        url + "refuse/",
        {"refuse-reason": "duplicate", "refuse-duplicate_of": original.number, "refuse-note": "Trùng phản ánh trước."},
    )
    assert response.status_code == 302
    copy.refresh_from_db()
    assert copy.status == Status.REFUSED and copy.duplicate_of == original

    assert editor.post(f"/feedback/{original.pk}/note/", {"note-text": "Đã gọi điện lực."}).status_code == 302
    assert original.events.filter(action="note", public=False, note="Đã gọi điện lực.").exists()
    ward = Organisation.objects.create(unit=cast.commune, name="Đội quản lý đô thị", kind=OrganisationKind.OTHER)
    response = editor.post(f"/feedback/{original.pk}/transfer/", {"transfer-organisation": ward.pk})
    assert response.status_code == 400  # no reason given
    response = editor.post(
        f"/feedback/{original.pk}/transfer/", {"transfer-organisation": ward.pk, "transfer-reason": "Thuộc đội."}
    )
    assert response.status_code == 302
    assert Feedback.objects.get(pk=original.pk).handler_organisation == ward


def test_contact_details_are_shown_to_the_handler_only_and_every_view_is_audited(cast, client_for):
    feedback, _code = submit(cast)
    editor = client_for(cast.commune_editor)
    page = editor.get(f"/feedback/{feedback.pk}/").content.decode()
    assert "0912 345 678" not in page and "an@example.org" not in page and "Nguyễn Văn An" not in page
    assert "/contact/" in page
    response = editor.post(f"/feedback/{feedback.pk}/contact/")
    assert response.status_code == 200 and "0912 345 678" in response.content.decode()
    editor.post(f"/feedback/{feedback.pk}/contact/", HTTP_HX_REQUEST="true")
    views = AuditEvent.objects.filter(action="feedback.contact_viewed", object_id=str(feedback.pk))
    assert views.count() == 2 and views.first().actor == cast.commune_editor
    # Assigned to someone else: only that person sees them.
    do_accept_feedback(feedback, acting_user=cast.commune_editor)
    do_assign_feedback(feedback, acting_user=cast.commune_editor, assignee=cast.province_editor)
    response = editor.post(f"/feedback/{feedback.pk}/contact/")
    assert response.status_code == 403 and "0912" not in response.content.decode()
    assert "/contact/" not in editor.get(f"/feedback/{feedback.pk}/").content.decode()
    assert "0912 345 678" in client_for(cast.province_editor).post(f"/feedback/{feedback.pk}/contact/").content.decode()
    assert views.count() == 3


def test_files_are_served_only_to_staff_who_see_the_feedback(cast, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    feedback, _code = submit(cast)
    there, _code = submit(cast, unit=cast.other_commune)
    attachment = Attachment(feedback=there, kind="image", mime_type="image/jpeg", size=4, sha256="0" * 64)
    attachment.file.save("a.jpg", ContentFile(b"\xff\xd8\xff\xe0"), save=False)
    attachment.save()
    url = f"/feedback/{there.pk}/files/{attachment.pk}/"
    response = client_for(cast.province_editor).get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"\xff\xd8\xff\xe0"
    assert response["X-Content-Type-Options"] == "nosniff" and "inline" in response["Content-Disposition"]
    assert client_for(cast.commune_editor).get(url).status_code == 404
    assert client_for(cast.commune_editor).get(f"/feedback/{feedback.pk}/files/{attachment.pk}/").status_code == 404
    assert f"/files/{attachment.pk}/" in client_for(cast.province_editor).get(f"/feedback/{there.pk}/").content.decode()


@pytest.mark.parametrize("channel", [c.value for c in STAFF_CHANNELS])
def test_staff_entry_with_each_channel(cast, client_for, channel):
    editor = client_for(cast.commune_editor)
    assert editor.get("/feedback/new/").status_code == 200
    response = editor.post(
        "/feedback/new/",
        {
            "channel": channel,
            "unit": cast.commune.pk,
            "topic": street_lights().pk,
            "text": "Ông Ba gọi điện: đèn đường hẻm 7 tắt từ tối qua.",
            "name": "Trần Văn Ba",
            "phone": "0903 111 222",
        },
    )
    assert response.status_code == 200
    feedback = Feedback.objects.get()
    assert feedback.channel == channel and feedback.created_by == cast.commune_editor
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    assert feedback.number in html
    code = html.split('data-testid="tracking-code">')[1].split("<")[0]
    assert feedback.matches_code(code)


def test_staff_entry_refuses_bad_input_and_other_units(cast, client_for):
    editor = client_for(cast.commune_editor)
    response = editor.post(
        "/feedback/new/",
        {"channel": Channel.WEB, "unit": cast.other_commune.pk, "topic": street_lights().pk, "text": ""},
    )
    assert response.status_code == 400 and not Feedback.objects.exists()
    assert client_for(cast.outsider).get("/feedback/new/").status_code == 403


def test_the_menu_shows_feedback_to_staff_with_a_role(cast, client_for):
    assert 'href="/feedback/"' in client_for(cast.commune_editor).get("/").content.decode()
    assert 'href="/feedback/"' not in client_for(cast.outsider).get("/").content.decode()


def test_drafted_answer_is_prefilled(cast, client_for):
    feedback, _code = submit(cast)
    do_accept_feedback(feedback, acting_user=cast.commune_editor)
    do_draft_answer(feedback, acting_user=cast.commune_editor, answer="Bản nháp trả lời.")
    assert "Bản nháp trả lời." in client_for(cast.commune_editor).get(f"/feedback/{feedback.pk}/").content.decode()
