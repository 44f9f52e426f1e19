"""Chromium on a phone: the feedback list fits the screen, and the handler reveals the contact details (htmx)."""

from __future__ import annotations

import pytest

from nguon.audit.models import AuditEvent
from nguon.core.tests.browser import (
    PageWatch,
    chromium,  # noqa: F401
    needs_chromium,
    page_is_wider_than_screen,
    signed_in_context,
    widest_element,
)
from nguon.feedback.tests.helpers import submit

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.django_db(transaction=True)]


def test_phone_list_detail_and_contact_reveal(live_server, cast, chromium):  # noqa: F811
    from playwright.sync_api import expect

    feedback, _code = submit(cast, title="Đèn đường hỏng trước số 12 Phan Trung, tổ 5, khu phố 3")
    context = signed_in_context(chromium, live_server, cast.commune_editor, phone=True)
    page = context.new_page()
    watch = PageWatch().attach(page)
    page.goto(f"{live_server.url}/feedback/")
    expect(page.get_by_role("link", name=feedback.number)).to_be_visible()
    assert page_is_wider_than_screen(page) == 0, widest_element(page)
    page.get_by_role("link", name=feedback.number).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(feedback.number)
    assert page_is_wider_than_screen(page) == 0, widest_element(page)
    expect(page.get_by_text("0912 345 678")).to_have_count(0)
    page.get_by_role("button", name="Xem thông tin liên hệ").click()
    expect(page.get_by_role("link", name="0912 345 678")).to_be_visible()
    assert AuditEvent.objects.filter(action="feedback.contact_viewed").count() == 1
    page.get_by_role("button", name="Tiếp nhận xử lý").click()
    expect(page.locator(".status-accepted")).to_be_visible()
    assert watch.server_errors == [] and watch.csp_violations(page) == []
    context.close()
