"""The e-board player in Debian chromium (issue 9, item 10): a restart with no network still plays the schedule;
the alert overlay never cuts off the issuing authority; ordinary content keeps away from the alert colours; the
ticker names published bulletins only; the page runs under the strict Content-Security-Policy; and an event replayed
from another device is refused (protocol §4.2)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from nguon.broadcast.actions import SlotData
from nguon.broadcast.models import DeviceKind, PushEvent
from nguon.broadcast.tests.device_helpers import enrolment_code, make_device, make_image, save_slot
from nguon.broadcast.tests.schedule_helpers import HCM
from nguon.broadcast.tests.test_board import (  # noqa: F401 - `board` and `browser` are fixtures
    WAIT_MS,
    board,
    board_bulletin,
    browser,
    enrol,
    outbox_empty,
    slot_now,
)
from nguon.broadcast.tests.test_board import pytestmark as board_marks
from nguon.broadcast.tests.test_board_alert import push_alert, start_board
from nguon.broadcast.tests.test_gateway import Server

pytestmark = board_marks

# The alert overlay's colours (board.css): ordinary content must not use them.
ALERT_COLOURS = {"rgb(176, 0, 32)", "rgb(255, 143, 0)", "rgb(255, 214, 0)"}
LONG = (
    "Mực nước sông Đồng Nai tại trạm Biên Hòa lúc 14 giờ là 2,85 m, trên báo động 3 là 0,35 m, và đang lên nhanh. "
) * 14


def image_slot(image) -> SlotData:
    data = slot_now("Ảnh đang chiếu", None)
    data.items = [{"kind": "media", "media": image}]
    return data


def rgb(page, selector: str, prop: str) -> str:
    return page.eval_on_selector(selector, f"e => getComputedStyle(e).{prop}")


def test_a_board_restarted_without_network_plays_its_schedule(cast, transactional_db, browser):  # noqa: F811
    from playwright.sync_api import expect

    device = make_device(cast, "EB-OFF", name="Bảng tin mất mạng", kind=DeviceKind.BOARD)
    image = make_image(cast, seed=41)
    save_slot(cast, image_slot(image))
    server = Server()
    try:
        page = browser.new_page(locale="vi-VN")
        page.goto(f"{server.base_url}/board/")
        page.get_by_label("Mã đăng ký").fill(enrolment_code(cast, device))
        page.get_by_role("button", name="Đăng ký").click()
        picture = page.locator("#content img.item-media")
        expect(picture).to_be_visible(timeout=WAIT_MS)
        # The service worker controls the page and holds the player; the image is in Cache Storage.
        page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=WAIT_MS)
        cached = page.evaluate(
            "async () => (await (await caches.open('nguon-board-media')).keys()).map(r => new URL(r.url).pathname)"
        )
        assert cached == [f"/device/v1/media/{image.sha256}"]
    finally:
        server.stop()  # no server any more: every request fails to connect

    page.reload()
    expect(page.locator("#offline")).to_be_visible(timeout=WAIT_MS)
    expect(picture).to_be_visible(timeout=WAIT_MS)
    assert picture.evaluate("img => img.src.startsWith('blob:') && img.naturalWidth > 0")
    assert page.locator("#enrol").is_hidden()


@pytest.mark.parametrize("width,height", [(1366, 768), (1920, 1080)])
def test_the_overlay_never_cuts_off_the_issuing_authority(live_server, cast, browser, width, height):  # noqa: F811
    from playwright.sync_api import expect

    device = make_device(cast, "EB-FIT", name="Bảng tin", kind=DeviceKind.BOARD)
    page, _sent = start_board(browser, live_server, cast, device)
    page.set_viewport_size({"width": width, "height": height})
    stream_alert = push_alert(page, device, 7301, "Lũ lớn trên sông Đồng Nai, " * 4, status="Exercise")
    overlay = page.get_by_role("alertdialog")
    expect(overlay).to_be_visible(timeout=WAIT_MS)
    page.eval_on_selector("#alert-description", "(e, text) => { e.textContent = text; }", LONG)
    page.evaluate("() => window.dispatchEvent(new Event('resize'))")  # re-fit with the longer text
    for selector in ("#alert-sender", "#alert-time", "#alert-headline", "#alert-drill", ".alert-label"):
        box = page.locator(selector).bounding_box()
        assert box is not None, selector
        assert box["y"] >= 0 and box["y"] + box["height"] <= height + 0.5, (selector, box, width, height)
        middle = page.evaluate(
            "([x, y, s]) => document.elementFromPoint(x, y)?.closest(s) !== null",
            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, selector],
        )
        assert middle, f"{selector} is covered at {width}×{height}"
    expect(page.locator("#alert-sender")).to_have_text("Cơ quan phát tin: Ban Chỉ huy phòng thủ dân sự tỉnh Đồng Nai")
    assert stream_alert


def test_ordinary_content_and_the_ticker_keep_to_their_own_colours_and_public_titles(
    live_server,
    cast,
    board,  # noqa: F811
    browser,  # noqa: F811
):
    from playwright.sync_api import expect

    device, bulletin, slot = board
    # Later today: a slot an operator named for the operators, carrying a published bulletin.
    later = timezone.now().astimezone(HCM) + timedelta(minutes=40)
    if later.date() != timezone.now().astimezone(HCM).date() or later.hour >= 23:
        pytest.skip("too close to local midnight for a slot later today")
    news = board_bulletin(cast, "Lịch thu gom rác", "Thu gom rác tối nay từ 19 giờ")
    save_slot(
        cast,
        SlotData(
            name="Khung nội bộ số 7 (không công khai)",
            start_time=later.time().replace(second=0, microsecond=0),
            end_time=(later + timedelta(minutes=10)).time().replace(second=0, microsecond=0),
            start_date=later.date(),
            items=[{"kind": "bulletin", "bulletin": news}],
        ),
    )
    page = browser.new_page(locale="vi-VN")
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    response = page.goto(f"{live_server.url}/board/")
    assert "script-src" in (response.headers.get("content-security-policy") or "")
    page.evaluate(
        "() => document.addEventListener('securitypolicyviolation', e => (window.__csp = window.__csp || [])"
        ".push(e.violatedDirective))"
    )
    enrol(page, live_server, enrolment_code(cast, device))
    expect(page.locator("#content")).to_contain_text("Tiêm chủng mở rộng", timeout=WAIT_MS)
    expect(page.locator("#ticker")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#ticker-text")).to_contain_text("Lịch thu gom rác")
    expect(page.locator("#ticker-text")).not_to_contain_text("Khung nội bộ")
    expect(page.locator("#ticker-text")).not_to_contain_text("Bảng tin buổi sáng")

    page.eval_on_selector("#content", "e => e.classList.add('priority')")  # as a priority bulletin shows
    colours = {
        rgb(page, "#ticker", "backgroundColor"),
        rgb(page, ".ticker-label", "backgroundColor"),
        rgb(page, "#content", "backgroundColor"),
        rgb(page, ".item-title", "color"),
        rgb(page, ".item-text", "color"),
    }
    assert not colours & ALERT_COLOURS, colours
    for colour in colours:
        r, g, b = (int(part) for part in colour[colour.index("(") + 1 : colour.index(")")].split(",")[:3])
        assert r <= max(g, b) + 10, f"{colour} is reddish: alerts are red, orange and yellow"
    assert page.evaluate("window.__csp || []") == []
    assert violations == []


def _frame_for(client, token: str, public_key: str) -> bytes:
    response = client.get("/device/v1/events", HTTP_AUTHORIZATION=f"Bearer {token}")
    chunks = iter(response.streaming_content)
    assert next(chunks).startswith(b": connected")
    return next(chunks)


def test_the_board_refuses_an_event_replayed_from_another_device(live_server, cast, browser, client):  # noqa: F811
    from playwright.sync_api import expect

    board_device = make_device(cast, "EB-AUD", name="Bảng tin", kind=DeviceKind.BOARD)
    other = make_device(cast, "EB-OTH", name="Bảng tin khác", kind=DeviceKind.BOARD)
    third = make_device(cast, "EB-OT2", name="Bảng tin thứ ba", kind=DeviceKind.BOARD)
    page, sent = start_board(browser, live_server, cast, board_device)
    token = page.evaluate("localStorage.getItem('nguon.board.token')")
    key = page.evaluate("localStorage.getItem('nguon.board.publicKey')")
    other_answer = client.post(
        "/device/v1/enrol", {"code": enrolment_code(cast, other)}, content_type="application/json"
    ).json()

    def alert_event(devices, alert_id: int, headline: str) -> None:
        now = timezone.now()
        alert = {"id": alert_id, "status": "Actual", "headline": headline, "severity": "Severe", "replaces": [],
                 "expires": (now + timedelta(hours=1)).isoformat().replace("+00:00", "Z")}  # fmt: skip
        PushEvent.objects.create(
            type="alert", device_ids=[d.pk for d in devices], body={"alert": alert, "item": None},
            expires_at=now + timedelta(hours=1),
        )  # fmt: skip

    # What the attacker has: an alert for two other boards, signed once by the server for both (`device: "*"`).
    alert_event([other, third], 7401, "Cảnh báo của bảng tin khác")
    foreign = _frame_for(client, other_answer["token"], other_answer["public_key"])
    payload = json.loads(base64.urlsafe_b64decode(foreign.decode().split("data: ")[1].split(".")[0]))
    assert (payload["device"], payload["audience"]) == ("*", {"devices": ["EB-OT2", "EB-OTH"]})
    # Its `device` is "*", which every board accepts: only the audience tells that it is not for this one.
    alert_event([board_device], 7402, "Cảnh báo dành cho bảng tin này")
    own = _frame_for(client, token, key)

    body = b": connected\n\n" + foreign + own
    page.route("**/device/v1/events", lambda route: route.fulfill(status=200, body=body,
               headers={"Content-Type": "text/event-stream"}))  # fmt: skip
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/device/v1/reports")
                             and any(rec.get("message") == "event_wrong_audience"
                                     for rec in r.post_data_json["records"]), timeout=WAIT_MS):  # fmt: skip
        page.evaluate("() => window.dispatchEvent(new Event('online'))")
        expect(page.get_by_role("alertdialog")).to_contain_text("dành cho bảng tin này", timeout=WAIT_MS)
    expect(page.get_by_role("alertdialog")).not_to_contain_text("bảng tin khác")
    assert page.evaluate("JSON.parse(localStorage.getItem('nguon.board.alerts')).map(a => a.id)") == ["7402"]
    outbox_empty(page)
    assert all(record["alert"] != 7401 for record in sent)
