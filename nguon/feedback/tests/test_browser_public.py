"""Chromium on a phone: a citizen sends feedback with a photo, solves the challenge, keeps the code; staff answer
through the actions; the citizen reloads the status page, reads the answer and rates it."""

from __future__ import annotations

import pytest
from captcha.models import CaptchaStore
from PIL import Image

from nguon.core.tests.browser import (  # noqa: F401  (chromium is a fixture)
    PageWatch,
    chromium,
    needs_chromium,
    page_is_wider_than_screen,
    signed_in_context,
    widest_element,
)
from nguon.feedback.actions import do_accept_feedback, do_approve_answer, do_draft_answer
from nguon.feedback.models import Attachment, Feedback, Status
from nguon.feedback.tests.helpers import street_lights

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.django_db(transaction=True)]

ANSWER = "Điện lực đã thay bóng đèn trước số 12 Phan Trung ngày 4/12."


def test_a_citizen_sends_feedback_on_a_phone_and_rates_the_answer(live_server, cast, chromium, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    street_lights()
    photo = tmp_path / "den-hong.jpg"
    Image.new("RGB", (120, 90), (30, 30, 30)).save(photo, "JPEG")
    context = signed_in_context(chromium, live_server, None, phone=True)
    page = context.new_page()
    watch = PageWatch().attach(page)

    page.goto(f"{live_server.url}/phan-anh/?xa={cast.commune.code}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Gửi phản ánh, kiến nghị đến chính quyền")
    expect(page.locator("[name=unit]")).to_have_value(cast.commune.code)
    assert page_is_wider_than_screen(page) == 0, widest_element(page)
    page.get_by_label("Lĩnh vực phản ánh").select_option("den-duong")
    page.get_by_label("Địa chỉ hoặc địa điểm").fill("Trước số 12 Phan Trung")
    page.get_by_label("Nội dung phản ánh, kiến nghị").fill("Đèn đường trước số 12 Phan Trung bị hỏng ba ngày nay.")
    page.locator("[name=files]").set_input_files(str(photo))
    page.get_by_label("Số điện thoại").fill("0912 345 678")
    key = page.locator("[name=challenge_0]").input_value()
    page.locator("[name=challenge_1]").fill(CaptchaStore.objects.get(hashkey=key).response)
    page.get_by_role("button", name="Gửi phản ánh").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Cảm ơn bạn: phản ánh đã được tiếp nhận")
    feedback = Feedback.objects.get()
    expect(page.locator("#fb-number")).to_have_text(feedback.number)
    code = page.locator("#fb-code").input_value()
    assert feedback.matches_code(code)
    assert Attachment.objects.filter(feedback=feedback, kind="image").count() == 1
    expect(page.get_by_role("button", name="Sao chép mã")).to_be_visible()  # the module ran
    assert page_is_wider_than_screen(page) == 0, widest_element(page)

    page.get_by_role("button", name="Xem tình trạng xử lý phản ánh").click()
    expect(page.locator(".fb-status strong")).to_have_text("Đã tiếp nhận")

    # Staff handle it through the actions.
    feedback = do_accept_feedback(feedback, acting_user=cast.commune_editor)
    feedback = do_draft_answer(feedback, acting_user=cast.commune_editor, answer=ANSWER)
    do_approve_answer(feedback, acting_user=cast.approver)

    page.reload()
    expect(page.locator(".fb-status strong")).to_have_text("Đã trả lời")
    expect(page.locator(".fb-answer")).to_contain_text(ANSWER)
    assert page_is_wider_than_screen(page) == 0, widest_element(page)
    page.locator("[name=rating][value='5']").check()
    page.get_by_label("Ý kiến thêm (không bắt buộc)").fill("Xử lý nhanh, cảm ơn.")
    page.get_by_role("button", name="Gửi đánh giá").click()
    expect(page.locator(".fb-message")).to_have_text("Cảm ơn bạn: đánh giá đã được ghi nhận.")
    feedback.refresh_from_db()
    assert (feedback.status, feedback.rating) == (Status.ANSWERED, 5)
    assert watch.server_errors == [] and watch.csp_violations(page) == []
    context.close()
