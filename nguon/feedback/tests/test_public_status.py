from datetime import timedelta

import pytest
from django.utils import timezone

from nguon.feedback.actions import (
    do_accept_feedback,
    do_add_note,
    do_refuse_feedback,
    tracking_token,
)
from nguon.feedback.models import RefusalReason, Status
from nguon.feedback.tests.helpers import answered, submit
from nguon.feedback.tests.public import TRACK, english  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db


def test_the_code_opens_the_status_page_without_contact_details(client, cast):
    feedback, code = submit(cast)
    do_accept_feedback(feedback, acting_user=cast.commune_editor)
    do_add_note(feedback, acting_user=cast.commune_editor, text="Ghi chú nội bộ: gọi điện lực")
    for response in (client.get(TRACK, {"ma": code}), client.post(TRACK, {"ma": code.lower().replace("-", "")})):
        body = response.content.decode()
        assert response.status_code == 200
        assert feedback.number in body and "Đèn đường, chiếu sáng công cộng" in body and "Phường Biên Hòa" in body
        assert "Đã nhận xử lý" in body and "Đã tiếp nhận" in body
        received = timezone.localtime(feedback.received_at).strftime("%d/%m/%Y %H:%M")
        assert received in body
        assert "Hạn trả lời" in body
        # Nobody's contact details, no internal note, no staff name.
        for private in ("Nguyễn Văn An", "0912 345 678", "an@example.org", "Ghi chú nội bộ", "editor.bienhoa"):
            assert private not in body
        assert response["Cache-Control"] == "no-store" and response["Referrer-Policy"] == "strict-origin"


def test_the_signed_token_opens_the_same_page(client, cast):
    feedback, _code = submit(cast)
    response = client.get(f"/phan-anh/t/{tracking_token(feedback)}/")
    assert response.status_code == 200 and feedback.number in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert client.get(f"/phan-anh/t/{tracking_token(feedback)}x/").status_code == 404


def test_every_wrong_code_gets_the_same_answer_and_is_limited(client, cast):
    submit(cast)
    for n in range(20):
        response = client.get(TRACK, {"ma": f"ABCD-EFGH-{n:04d}"})
        assert response.status_code == 404
    assert "Không tìm thấy phản ánh nào với mã này" in response.content.decode()
    # The 21st wrong try within the hour is refused, and so is a right code from that address now.
    response = client.get(TRACK, {"ma": "ABCD-EFGH-9999"})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    _feedback, code = submit(cast, text="Cống thoát nước bị tắc gây ngập")
    assert client.get(TRACK, {"ma": code}).status_code == 429
    assert client.get(TRACK, {"ma": code}, REMOTE_ADDR="10.0.0.2").status_code == 200


def test_the_wrong_code_pages_do_not_differ(client, cast):
    first = client.get(TRACK, {"ma": "AAAA-AAAA-AAAA"}).content.decode()
    second = client.get(TRACK, {"ma": "ZZZZ-ZZZZ-ZZZZ"}).content.decode()

    def strip(page, code):
        return page.replace(code, "").split("csrfmiddlewaretoken")[0]

    assert strip(first, "AAAA-AAAA-AAAA") == strip(second, "ZZZZ-ZZZZ-ZZZZ")
    assert client.get(TRACK, {"ma": "x" * 41}).status_code == 400


def test_answered_feedback_shows_the_answer_and_can_be_rated(client, cast):
    feedback, code = answered(cast)
    body = client.get(TRACK, {"ma": code}).content.decode()
    assert "Đã trả lời" in body and "Đã thay bóng đèn ngày 4/12." in body
    assert 'name="rating"' in body and 'name="reason"' in body
    assert f'name="ma" value="{code}"' in body
    response = client.post("/phan-anh/tra-cuu/danh-gia/", {"ma": code, "rating": "4", "comment": "Nhanh"})
    assert response.status_code == 200 and "đánh giá đã được ghi nhận" in response.content.decode()
    feedback.refresh_from_db()
    assert (feedback.rating, feedback.rating_comment) == (4, "Nhanh")
    assert client.post("/phan-anh/tra-cuu/danh-gia/", {"ma": code, "rating": "9"}).status_code == 400
    # A wrong code in the hidden field is "not found", like on the page.
    assert client.post("/phan-anh/tra-cuu/danh-gia/", {"ma": "AAAA", "rating": "4"}).status_code == 404


def test_a_citizen_reopens_within_the_period_by_token(client, cast):
    feedback, _code = answered(cast)
    token = tracking_token(feedback)
    response = client.post("/phan-anh/tra-cuu/mo-lai/", {"t": token, "reason": ""})
    assert response.status_code == 400 and "Nêu vấn đề còn tồn tại." in response.content.decode()
    response = client.post("/phan-anh/tra-cuu/mo-lai/", {"t": token, "reason": "Đèn lại hỏng sau hai ngày"})
    body = response.content.decode()
    assert response.status_code == 200 and "Phản ánh đã được mở lại" in body and "Bạn đã đề nghị xử lý lại" in body
    feedback.refresh_from_db()
    assert feedback.status == Status.IN_PROGRESS and feedback.reopen_count == 1
    # Not answered any more: neither rating nor reopening is offered.
    assert 'name="reason"' not in body and 'name="rating"' not in body


def test_reopening_after_the_period_is_refused(client, cast):
    feedback, code = answered(cast)
    feedback.answered_at = timezone.now() - timedelta(days=400)
    feedback.save(update_fields=["answered_at"])
    assert 'name="reason"' not in client.get(TRACK, {"ma": code}).content.decode()
    response = client.post("/phan-anh/tra-cuu/mo-lai/", {"ma": code, "reason": "Vẫn hỏng"})
    assert response.status_code == 400 and "không thể mở lại" in response.content.decode()


def test_refused_feedback_says_why(client, cast):
    feedback, code = submit(cast)
    earlier, _ = submit(cast, text="Một phản ánh khác về đèn đường ở hẻm 3", phone="0900000000", email="")
    do_refuse_feedback(feedback, acting_user=cast.commune_editor, reason=RefusalReason.DUPLICATE, duplicate_of=earlier)
    body = client.get(TRACK, {"ma": code}).content.decode()
    assert "Không tiếp nhận" in body and earlier.number in body


def test_markup_in_feedback_is_shown_escaped(client, cast):
    _feedback, code = submit(cast, text="Cống tắc & bốc mùi > 3 ngày <3")
    body = client.get(TRACK, {"ma": code}).content.decode()
    assert "&amp; bốc mùi &gt; 3 ngày" in body


def test_the_status_page_in_english(english, client, cast):  # noqa: F811
    _feedback, code = submit(cast)
    body = client.get(TRACK, {"ma": code}).content.decode()
    assert (
        "Street lights" in body
        and "Received" in body
        and 'name="next" type="hidden" value="/phan-anh/tra-cuu/"' in body
    )
    assert code not in body.split('name="next"')[1].split(">")[0]
