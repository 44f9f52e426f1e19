"""A real browser (Debian chromium through Playwright) signs in with TOTP and sees the Vietnamese dashboard."""

import os
import shutil
from pathlib import Path

import pytest

from nguon.conftest import PASSWORD, current_code, give_totp
from nguon.core.tests.browser import chromium  # noqa: F401

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not shutil.which(CHROMIUM) and not os.environ.get("CI"), reason="Debian chromium is not installed"
    ),
]


@pytest.fixture
def browser(chromium):  # noqa: F811  (the fixture imported above)
    """The shared chromium of nguon.core.tests.browser, under the name these tests use."""
    return chromium


def test_approver_signs_in_with_totp_and_sees_vietnamese_dashboard(live_server, cast, browser, settings):
    # The wrong code below would otherwise throttle the next attempt for a second (tested in accounts).
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    device = give_totp(cast.approver)
    page = browser.new_page(locale="vi-VN")
    page.goto(f"{live_server.url}/")

    # Not signed in: the login page, in Vietnamese.
    assert "/accounts/login/" in page.url
    assert page.locator("html").get_attribute("lang") == "vi"
    page.get_by_label("Tên đăng nhập").fill(cast.approver.username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()

    # An approver must pass the second factor before anything else.
    page.wait_for_url("**/accounts/2fa/verify/**")
    page.get_by_label("Mã 6 chữ số").fill("000000" if current_code(device) != "000000" else "111111")
    page.get_by_role("button", name="Xác thực").click()
    assert page.locator(".field-error, .form-errors").first.is_visible()
    assert "/accounts/2fa/verify/" in page.url

    page.get_by_label("Mã 6 chữ số").fill(current_code(device))
    page.get_by_role("button", name="Xác thực").click()
    page.wait_for_url(f"{live_server.url}/")

    assert page.get_by_role("heading", level=1).inner_text() == "Tổng quan"
    assert page.get_by_role("navigation", name="Menu chính").is_visible()
    # What needs an approver now, not the list of communes (that is the Units page).
    assert page.locator("#needs-alerts h2").inner_text().startswith("Cảnh báo chờ bạn phê duyệt")
    assert page.locator("#needs-bulletins h2").inner_text().startswith("Bản tin chờ bạn phê duyệt")
    assert page.locator("#needs-devices").count() == 0  # devices are operators' and technicians' concern
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
