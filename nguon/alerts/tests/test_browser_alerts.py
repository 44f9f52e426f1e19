"""Chromium: an approver composes a flood alert, issues it with one click, and watches the delivery page count
acknowledgements as they arrive (htmx refresh, no reload); draws the area on the compose form's map; cancels after
confirming."""

from __future__ import annotations

import base64
import re

import pytest
from django.utils import timezone

from nguon.alerts.models import Alert, DispatchState
from nguon.alerts.receipts import advance
from nguon.alerts.tests.helpers import device_at
from nguon.conftest import PASSWORD, current_code, give_totp
from nguon.core.tests.browser import chromium  # noqa: F401
from nguon.core.tests.test_browser import browser as browser  # noqa: F401  (Debian chromium fixture)
from nguon.core.tests.test_browser import pytestmark as browser_marks

pytestmark = [*browser_marks, pytest.mark.django_db(transaction=True)]


def sign_in_approver(page, live_server, cast):
    totp = give_totp(cast.approver)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Tên đăng nhập").fill(cast.approver.username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/accounts/2fa/verify/**")
    page.get_by_label("Mã 6 chữ số").fill(current_code(totp))
    page.get_by_role("button", name="Xác thực").click()
    page.wait_for_url(f"{live_server.url}/")


def test_approver_issues_an_alert_and_sees_acknowledgements_arrive(live_server, cast, browser, settings):  # noqa: F811
    from playwright.sync_api import expect

    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    devices = [device_at(cast, "BH-001"), device_at(cast, "BH-B01", kind="board")]
    page = browser.new_page(locale="vi-VN")
    sign_in_approver(page, live_server, cast)

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


# A 1×1 PNG (blue): the only "tile" the test ever serves (tests never fetch real tiles).
TILE = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
TILE_URL = "https://tiles.invalid/{z}/{x}/{y}.png"


def test_drawing_the_area_on_the_map_writes_the_cap_fields(live_server, cast, browser, settings):  # noqa: F811
    from playwright.sync_api import expect

    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.MAP_TILE_URL = TILE_URL
    device_at(cast, "BH-001", lat=10.95, lon=106.82)
    device_at(cast, "BH-002", lat=10.97, lon=106.86)
    page = browser.new_page(locale="vi-VN", viewport={"width": 1366, "height": 900})
    errors, foreign = [], []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(live_server.url) else None)
    page.route("https://tiles.invalid/**", lambda route: route.fulfill(body=TILE, content_type="image/png"))
    sign_in_approver(page, live_server, cast)

    page.goto(f"{live_server.url}/alerts/new/")
    area = page.locator("[data-alert-map]")
    expect(area).to_be_visible()
    expect(page.locator("#alert-map-devices")).to_have_count(1)
    canvas = page.locator("[data-map-canvas]")

    def canvas_box():
        canvas.scroll_into_view_if_needed()
        return canvas.bounding_box()  # in viewport coordinates: read again after anything scrolls

    # A polygon: three corners, then close it.
    page.get_by_role("button", name="Vẽ đa giác").click()
    expect(page.get_by_role("button", name="Vẽ đa giác")).to_have_attribute("aria-pressed", "true")
    box = canvas_box()
    for dx, dy in ((120, 80), (360, 90), (240, 280)):
        page.mouse.click(box["x"] + dx, box["y"] + dy)
    page.get_by_role("button", name="Khép đa giác").click()
    polygon = page.locator("[name=polygons]").input_value().strip()
    pairs = polygon.split()
    assert len(pairs) == 4 and pairs[0] == pairs[-1], polygon
    lat, lon = (float(v) for v in pairs[0].split(","))
    assert 10 < lat < 12 and 106 < lon < 108  # around the devices the map starts on

    # A circle: the centre, then a point on its edge.
    page.get_by_role("button", name="Vẽ hình tròn").click()
    box = canvas_box()
    page.mouse.click(box["x"] + 300, box["y"] + 200)
    page.mouse.click(box["x"] + 380, box["y"] + 200)
    circle = page.locator("[name=circles]").input_value().strip()
    assert re.fullmatch(r"1[01]\.\d+,10[67]\.\d+ \d+(\.\d+)?", circle), circle
    expect(area).to_have_attribute("data-shapes", "2")

    # Typing a shape draws it too.
    page.locator("[name=circles]").press("End")
    page.locator("[name=circles]").type("\n10.96,106.84 1.5")
    expect(area).to_have_attribute("data-shapes", "3")

    page.locator("[name=event]").fill("Lũ quét")
    page.locator("[name=categories][value=Met]").check()
    page.locator("[name=risk_level]").select_option("3")
    page.locator("[name=headline]").fill("Cảnh báo lũ quét")
    page.get_by_role("button", name="Lưu, chờ duyệt").click()
    page.wait_for_url(re.compile(r".*/alerts/\d+/$"))
    alert = Alert.objects.get()
    assert len(alert.polygons) == 1 and len(alert.circles) == 2 and alert.risk_level == 3
    assert alert.polygons[0][0] == alert.polygons[0][-1]
    expect(page.locator("#reach")).to_be_visible()  # what it will reach, before approval
    # The alert's page shows the same shapes on a read-only map, with the devices it would reach.
    expect(page.locator("[data-alert-map][data-readonly]")).to_have_attribute("data-shapes", "3")
    assert page.locator("[data-alert-map] button").count() == 0

    # Cancelling asks first; "No" changes nothing, "Yes" withdraws the pending alert.
    page.get_by_role("link", name="Hủy cảnh báo…").click()
    page.get_by_role("link", name="Không, quay lại").click()
    alert.refresh_from_db()
    assert alert.state == "pending"
    page.get_by_role("link", name="Hủy cảnh báo…").click()
    page.get_by_role("button", name="Đồng ý hủy cảnh báo").click()
    expect(page.get_by_text("Đã thu hồi trước khi duyệt").first).to_be_visible()
    alert.refresh_from_db()
    assert alert.state == "withdrawn"
    # On a phone the compose form with its map, the alert's page with its map and the list fit the screen.
    page.set_viewport_size({"width": 390, "height": 800})
    for path in ("/alerts/new/", f"/alerts/{alert.pk}/", "/alerts/"):
        page.goto(f"{live_server.url}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
    assert errors == [] and all(url.startswith("https://tiles.invalid/") for url in foreign), (errors, foreign)


def test_without_javascript_the_text_fields_are_the_whole_interface(live_server, cast, browser, settings):  # noqa: F811
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.MAP_TILE_URL = TILE_URL
    context = browser.new_context(locale="vi-VN", java_script_enabled=False)
    page = context.new_page()
    page.route("https://tiles.invalid/**", lambda route: route.fulfill(body=TILE, content_type="image/png"))
    sign_in_approver(page, live_server, cast)
    page.goto(f"{live_server.url}/alerts/new/")
    assert page.locator("[data-alert-map]").is_hidden()
    assert page.locator("[name=polygons]").is_visible() and page.locator("[name=circles]").is_visible()
    context.close()
