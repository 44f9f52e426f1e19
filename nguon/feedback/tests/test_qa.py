import pytest
from django.urls import reverse
from django.utils import timezone

from nguon.accounts.models import User
from nguon.accounts.roles import Role
from nguon.audit.models import AuditEvent
from nguon.conftest import make_user
from nguon.core.errors import Conflict, Forbidden, Invalid
from nguon.feedback.actions import do_accept_feedback, do_approve_answer, do_draft_answer
from nguon.feedback.models import Event, Feedback, Topic
from nguon.feedback.publishing import do_publish_answer, do_unpublish_answer, suggest_masked
from nguon.feedback.tests.helpers import answered, submit
from nguon.lib.pii import MARK

pytestmark = pytest.mark.django_db

TEXT = (
    "Kính gửi UBND phường, tôi là Nguyễn Văn An, số điện thoại 0912345678, email an.nguyen@gmail.com. "
    "Đèn đường trước số 12 đường Phan Trung bị hỏng từ ngày 23/5/2024, buổi tối rất nguy hiểm."
)
PERSONAL = ("Nguyễn Văn An", "Nguyen Van An", "0912345678", "0912 345 678", "an.nguyen@gmail.com", "an@example.org")


def answered_in(cast, unit, **kwargs):
    """An answered feedback about `unit`, handled by an editor of that unit."""
    if unit == cast.commune:
        return answered(cast, **kwargs)[0]
    editor = User.objects.filter(username=f"editor.{unit.code}").first() or make_user(
        f"editor.{unit.code}", unit, Role.EDITOR
    )
    feedback, _code = submit(cast, unit=unit, **kwargs)
    feedback = do_accept_feedback(feedback, acting_user=editor)
    feedback = do_draft_answer(feedback, acting_user=editor, answer="Đã thu gom rác và nhắc nhở các hộ dân.")
    return do_approve_answer(feedback, acting_user=cast.approver)


def published(cast, unit=None, **kwargs):
    feedback = answered_in(cast, unit or cast.commune, text=kwargs.pop("text", TEXT), **kwargs)
    question, answer = suggest_masked(feedback)
    return do_publish_answer(feedback, acting_user=cast.approver, question=question, answer=answer)


def test_suggestion_hides_the_senders_name_phone_and_email(cast):
    feedback, _code = answered(cast, text=TEXT)
    question, answer = suggest_masked(feedback)
    assert f"tôi là {MARK}, số điện thoại {MARK}, email {MARK}." in question
    assert "số 12 đường Phan Trung" in question and "23/5/2024" in question
    assert answer == "Đã thay bóng đèn ngày 4/12."


def test_publish_is_refused_without_consent_before_the_answer_and_with_personal_data_left(cast):
    no_consent, _code = answered(cast, consent_publish=False)
    with pytest.raises(Conflict) as caught:
        do_publish_answer(no_consent, acting_user=cast.approver, question="Đèn hỏng.", answer="Đã sửa.")
    assert "không đồng ý công khai" in str(caught.value.message)

    waiting, _code = submit(cast)
    waiting = do_accept_feedback(waiting, acting_user=cast.commune_editor)
    with pytest.raises(Conflict):
        do_publish_answer(waiting, acting_user=cast.approver, question="Đèn hỏng.", answer="Đã sửa.")

    feedback, _code = answered(cast, text=TEXT)
    with pytest.raises(Invalid) as caught:
        do_publish_answer(
            feedback,
            acting_user=cast.approver,
            question="Tôi là Nguyễn Văn An, gọi 0912 345 678.",
            answer="Kính gửi ông An: đã sửa.",
        )
    assert set(caught.value.fields) == {"question", "answer"}
    assert "số điện thoại" in str(caught.value.fields["question"][0])
    feedback.refresh_from_db()
    assert not feedback.is_published
    # The handler without the approver's capability may not publish.
    with pytest.raises(Forbidden):
        do_publish_answer(feedback, acting_user=cast.commune_editor, question="Đèn hỏng.", answer="Đã sửa.")


def test_publish_and_unpublish_leave_history_and_audit(cast):
    feedback = published(cast)
    assert feedback.is_published and feedback.published_by == cast.approver
    assert "den duong" in feedback.published_folded
    assert Event.objects.filter(feedback=feedback, action="publish", public=False).exists()
    row = AuditEvent.objects.get(action="feedback.published", object_id=str(feedback.pk))
    assert row.changes["edited"] is False
    # The commune's handler may take it down (the safe direction).
    feedback = do_unpublish_answer(feedback, acting_user=cast.commune_editor, reason="Lộ địa chỉ nhà.")
    assert not feedback.is_published
    assert AuditEvent.objects.filter(action="feedback.unpublished", object_id=str(feedback.pk)).exists()
    with pytest.raises(Conflict):
        do_unpublish_answer(feedback, acting_user=cast.commune_editor)
    assert not Feedback.objects.published().exists()


def test_the_public_pages_show_the_answer_and_no_personal_data(cast, client):
    feedback = published(cast)
    do_not_show, _code = answered(cast, consent_publish=False)
    listing = client.get("/phan-anh/hoi-dap/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert feedback.number in html and do_not_show.number not in html
    page = client.get(reverse("feedback_public:qa_item", args=[feedback.number]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Đã thay bóng đèn ngày 4/12." in html
    assert "Phường Biên Hòa" in html and "Đèn đường, chiếu sáng công cộng" in html
    assert timezone.localtime(feedback.answered_at).strftime("%d/%m/%Y") in html
    assert "Trả lời đúng hạn" in html
    for html in (listing.content.decode(), html):
        for personal in PERSONAL:
            assert personal not in html
        assert "Phan Trung" not in html or "số 12 đường Phan Trung" in html  # the place stays, the person goes
    assert client.get(reverse("feedback_public:qa_item", args=[do_not_show.number])).status_code == 404
    do_unpublish_answer(feedback, acting_user=cast.commune_editor)
    assert client.get(reverse("feedback_public:qa_item", args=[feedback.number])).status_code == 404


def test_search_without_diacritics_and_filters(cast, client):
    lights = published(cast)
    waste = published(
        cast,
        text="Rác thải đổ bừa bãi ở đầu hẻm 45, bốc mùi hôi.",
        topic=Topic.objects.get(code="rac-thai"),
        unit=cast.other_commune,
    )
    html = client.get("/phan-anh/hoi-dap/", {"q": "den duong"}).content.decode()
    assert lights.number in html and waste.number not in html
    html = client.get("/phan-anh/hoi-dap/", {"q": "Đèn ĐƯỜNG"}).content.decode()
    assert lights.number in html
    html = client.get("/phan-anh/hoi-dap/", {"q": "rac thai"}).content.decode()
    assert waste.number in html and lights.number not in html
    html = client.get("/phan-anh/hoi-dap/", {"unit": cast.other_commune.code}).content.decode()
    assert waste.number in html and lights.number not in html
    html = client.get("/phan-anh/hoi-dap/", {"topic": "den-duong"}).content.decode()
    assert lights.number in html and waste.number not in html
    html = client.get("/phan-anh/hoi-dap/", {"q": "khong co gi"}).content.decode()
    assert lights.number not in html and waste.number not in html
    # A made-up commune code is a bad filter, not an error page.
    assert client.get("/phan-anh/hoi-dap/", {"unit": "99999"}).status_code == 200


def test_list_is_paginated_with_filters_kept(cast, client, django_assert_max_num_queries):
    for _i in range(22):
        published(cast)
    first = client.get("/phan-anh/hoi-dap/", {"q": "den duong"})
    html = first.content.decode()
    assert html.count('class="qa-item"') == 20
    assert "q=den+duong&amp;page=2" in html
    with django_assert_max_num_queries(8):
        second = client.get("/phan-anh/hoi-dap/", {"q": "den duong", "page": 2})
    assert second.content.decode().count('class="qa-item"') == 2


def test_staff_check_and_publish_through_the_pages(cast, client_for):
    feedback, _code = answered(cast, text=TEXT)
    approver = client_for(cast.approver)
    url = reverse("feedback:publish", args=[feedback.pk])
    page = approver.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and MARK in html and "0912345678" not in html
    # The person leaves a name in: refused with the reason, nothing published.
    response = approver.post(url, {"question": "Tôi là Nguyễn Văn An, đèn hỏng.", "answer": "Đã sửa."})
    assert response.status_code == 400
    assert "Nguyễn Văn An" in response.content.decode()  # their own text comes back to be corrected
    feedback.refresh_from_db()
    assert not feedback.is_published
    response = approver.post(url, {"question": f"Tôi là {MARK}, đèn đường hỏng.", "answer": "Đã sửa ngày 4/12."})
    assert response.status_code == 302
    feedback.refresh_from_db()
    assert feedback.is_published and feedback.published_question == f"Tôi là {MARK}, đèn đường hỏng."
    row = AuditEvent.objects.get(action="feedback.published", object_id=str(feedback.pk))
    assert row.changes["edited"] is True
    # A handler without the approver's capability sees the page but cannot publish.
    editor = client_for(cast.commune_editor)
    assert "Chỉ người duyệt" in editor.get(url).content.decode()
    response = editor.post(reverse("feedback:unpublish", args=[feedback.pk]), {"reason": "Kiểm tra lại"})
    assert response.status_code == 302
    feedback.refresh_from_db()
    assert not feedback.is_published
    # Someone of another commune does not see it at all.
    assert client_for(cast.outsider).get(url).status_code == 404


def test_the_staff_panel_renders_for_each_state(cast, rf):
    from django.template.loader import render_to_string

    feedback, _code = answered(cast)
    html = render_to_string("feedback/qa/_staff_panel.html", {"feedback": feedback})
    assert reverse("feedback:publish", args=[feedback.pk]) in html
    assert reverse("feedback:make_bulletin", args=[feedback.pk]) in html
    feedback = published(cast)
    html = render_to_string("feedback/qa/_staff_panel.html", {"feedback": feedback})
    assert reverse("feedback:unpublish", args=[feedback.pk]) in html
    assert reverse("feedback_public:qa_item", args=[feedback.number]) in html
