"""The issue's story, through the URLs people use: a citizen of Biên Hòa reports a broken street light with a photo,
the ward's officer is told and answers, the answer is approved and published with the name masked, the citizen
reads it by the tracking code and rates it, and the figures count it as answered on time."""

import re

import pytest
from django.core import mail
from django.test import Client

from nguon.feedback.models import Feedback, Status
from nguon.feedback.tests.public import FORM, form_data, jpeg
from nguon.notifications.models import Kind, Notification

pytestmark = pytest.mark.django_db


def test_street_light_story(cast, client_for, django_capture_on_commit_callbacks):
    citizen = Client(HTTP_USER_AGENT="Mozilla/5.0 (Linux; Android 14) Mobile")
    text = "Tôi là Nguyễn Văn An, số điện thoại 0912 345 678. Đèn đường trước số 12 Phan Trung bị hỏng ba ngày nay."
    with django_capture_on_commit_callbacks(execute=True):
        page = citizen.post(FORM, {**form_data(citizen, cast, text=text), "files": [jpeg()]}, follow=True)
    assert page.status_code == 200
    code = re.search(r'id="fb-code" class="fb-code" value="([0-9A-Z-]+)"', page.content.decode()).group(1)
    feedback = Feedback.objects.get()
    assert feedback.attachments.count() == 1 and feedback.handler_unit == cast.commune

    # The ward's officer is told, and takes it through the steps on the item's page.
    note = Notification.objects.get(recipient=cast.commune_editor, kind=Kind.FEEDBACK_RECEIVED)
    officer = client_for(cast.commune_editor)
    assert officer.get(note.link).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        officer.post(f"/feedback/{feedback.pk}/accept/")
        officer.post(f"/feedback/{feedback.pk}/draft/", {"draft-answer": "Ngày 4/12, phường đã thay bóng đèn."})
    feedback.refresh_from_db()
    assert feedback.status == Status.DRAFTED
    assert Notification.objects.filter(recipient=cast.approver, kind=Kind.FEEDBACK_DRAFTED).exists()

    # The approver approves (the citizen is e-mailed the answer), then checks the masked texts and publishes.
    approver = client_for(cast.approver)
    with django_capture_on_commit_callbacks(execute=True):
        approver.post(f"/feedback/{feedback.pk}/approve/")
    feedback.refresh_from_db()
    assert feedback.status == Status.ANSWERED and feedback.on_time is True
    assert any("thay bóng đèn" in m.body for m in mail.outbox if m.to == ["an@example.org"])
    check = approver.get(f"/feedback/{feedback.pk}/publish/").content.decode()
    assert "Nguyễn Văn An" not in check and "0912" not in check
    question = re.search(r'name="question"[^>]*>\s*(.*?)</textarea>', check, re.S).group(1)
    answer = re.search(r'name="answer"[^>]*>\s*(.*?)</textarea>', check, re.S).group(1)
    approver.post(f"/feedback/{feedback.pk}/publish/", {"question": question, "answer": answer})
    feedback.refresh_from_db()
    assert feedback.is_published
    public = citizen.get(f"/phan-anh/hoi-dap/{feedback.number}/").content.decode()
    assert "thay bóng đèn" in public and "Nguyễn Văn An" not in public and "0912" not in public

    # The citizen reads the answer by the code, and rates it.
    status = citizen.get(f"/phan-anh/tra-cuu/?ma={code}").content.decode()
    assert "Đã trả lời" in status and "thay bóng đèn" in status
    citizen.post("/phan-anh/tra-cuu/danh-gia/", {"ma": code, "rating": "5", "comment": "Cảm ơn phường"})
    feedback.refresh_from_db()
    assert feedback.rating == 5

    # The ward's figures count it as answered on time.
    figures = officer.get("/api/v1/feedback/figures").json()
    assert (figures["total"]["received"], figures["total"]["answered"], figures["total"]["on_time"]) == (1, 1, 1)
    assert figures["total"]["satisfaction"] == 5


def test_staff_see_a_possible_duplicate(cast, client_for):
    from nguon.feedback.actions import FeedbackData, do_submit_feedback
    from nguon.feedback.tests.helpers import submit

    first, _code = submit(cast)
    data = FeedbackData(
        topic=first.topic, unit=cast.commune, text="Đèn đường trước số 12 Phan Trung bị hỏng ba ngày nay!"
    )
    second, _code = do_submit_feedback(data, similar_to=first.number)
    page = client_for(cast.commune_editor).get(f"/feedback/{second.pk}/").content.decode()
    assert f"Có thể trùng với {first.number}" in page
    assert "Có thể trùng" not in client_for(cast.commune_editor).get(f"/feedback/{first.pk}/").content.decode()
