"""Chromium: an approver composes a flood alert, issues it with one click, and watches the delivery page count
acknowledgements as they arrive (htmx refresh, no reload)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from nguon.alerts.models import Alert, DispatchState
from nguon.alerts.receipts import advance
from nguon.alerts.tests.helpers import device_at
from nguon.conftest import PASSWORD, current_code, give_totp
from nguon.core.tests.test_browser import browser as browser  # noqa: F401  (Debian chromium fixture)
from nguon.core.tests.test_browser import pytestmark as browser_marks

pytestmark = [*browser_marks, pytest.mark.django_db(transaction=True)]


def test_approver_issues_an_alert_and_sees_acknowledgements_arrive(live_server, cast, browser, settings):  # noqa: F811
    from playwright.sync_api import expect

    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    devices = [device_at(cast, "BH-001"), device_at(cast, "BH-B01", kind="board")]
    totp = give_totp(cast.approver)
    page = browser.new_page(locale="vi-VN")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Tên đăng nhập").fill(cast.approver.username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/accounts/2fa/verify/**")
    page.get_by_label("Mã 6 chữ số").fill(current_code(totp))
    page.get_by_role("button", name="Xác thực").click()
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/alerts/new/")
    page.locator("[name=event]").fill("Lũ lụt")
    page.locator("[name=categories][value=Met]").check()
    page.locator("[name=headline]").fill("Cảnh báo lũ trên sông Đồng Nai")
    page.locator("[name=description]").fill("Mực nước đang lên nhanh.")
    page.locator("[name=area_units]").select_option(str(cast.commune.pk))
    page.get_by_role("button", name="Duyệt và phát ngay").click()

    alert = Alert.objects.get()
    page.wait_for_url(f"**/alerts/{alert.pk}/**")
    assert alert.state == "issued"
    page.goto(f"{live_server.url}/alerts/{alert.pk}/delivery/")
    acknowledged = page.locator("#delivery-counts .card[data-state=acknowledged] .num")
    expect(acknowledged).to_have_text("0")
    advance(alert.pk, [d.pk for d in devices], DispatchState.ACKNOWLEDGED, timezone.now())
    expect(acknowledged).to_have_text("2", timeout=10_000)  # the partial refreshes every 2 s
    expect(page.locator(f"tr[data-unit='{cast.commune.code}'] td[data-state=acknowledged]")).to_have_text("2")
