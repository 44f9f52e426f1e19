"""The shell in chromium: the phone menu without JavaScript, and connection errors said in Vietnamese."""

import pytest
from playwright.sync_api import expect

from nguon.core.tests.browser import (
    PHONE,
    chromium,  # noqa: F401 (a fixture)
    needs_chromium,
    session_cookie,
    signed_in_context,
)

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.django_db(transaction=True)]


def test_phone_menu_opens_and_closes_without_javascript(cast, live_server, chromium):  # noqa: F811
    context = chromium.new_context(locale="vi-VN", java_script_enabled=False, **PHONE)
    context.add_cookies([{"name": "sessionid", "value": session_cookie(cast.province_editor), "url": live_server.url}])
    page = context.new_page()
    page.goto(f"{live_server.url}/bulletins/")
    nav = page.get_by_role("navigation", name="Menu chính")
    assert not nav.is_visible()
    page.get_by_text("Trình đơn").click()
    assert nav.is_visible()
    assert page.get_by_role("link", name="Bản tin").first.is_visible()
    # Without JavaScript the language switch has its own button.
    assert page.get_by_role("button", name="Đổi").is_visible()
    page.get_by_text("Trình đơn").click()
    assert not nav.is_visible()
    context.close()


def test_htmx_connection_and_server_errors_are_said_in_vietnamese(cast, live_server, chromium):  # noqa: F811
    context = signed_in_context(chromium, live_server, cast.province_editor)
    page = context.new_page()
    page.goto(f"{live_server.url}/bulletins/")
    banner = page.locator("#connection-error")
    assert not banner.is_visible()

    # The network drops: htmx's request fails before any answer.
    page.route("**/bulletins/?*", lambda route: route.abort("internetdisconnected"))
    page.locator("#id_q").fill("đầu tư")
    banner.wait_for(state="visible")
    assert banner.inner_text() == "Không kết nối được với máy chủ. Kiểm tra mạng rồi thử lại."

    # The server answers 500: another message; a later success hides it.
    page.unroute("**/bulletins/?*")
    page.route("**/bulletins/?*", lambda route: route.fulfill(status=500, body="boom"))
    page.locator("#id_q").fill("sốt xuất huyết")
    expect(banner).to_have_text("Máy chủ không thực hiện được yêu cầu. Vui lòng thử lại sau ít phút.")
    page.unroute("**/bulletins/?*")
    page.locator("#id_q").fill("thông báo")
    banner.wait_for(state="hidden")
    assert page.evaluate("window.__cspViolations") == []
    context.close()
