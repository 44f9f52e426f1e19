"""The e-board player (/board/) in Debian chromium: enrolment, a signed manifest, push events, proof of play."""

from __future__ import annotations

import os
import shutil
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from nguon.broadcast import actions, device_api
from nguon.broadcast.actions import SlotData
from nguon.broadcast.models import DeviceKind, PlayRecord
from nguon.broadcast.tests.device_helpers import enrolment_code, make_device, save_slot
from nguon.broadcast.tests.schedule_helpers import HCM, operator
from nguon.content import actions as content
from nguon.content.actions import BulletinData

CHROMIUM = "/usr/bin/chromium"
WAIT_MS = 15_000
# Streams end after this long here (5 minutes in production) so that the board reconnects during the tests
# (Last-Event-ID, replay) and no server thread outlives its test.
STREAM_SECONDS = 4.0

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not shutil.which(CHROMIUM) and not os.environ.get("CI"), reason="Debian chromium is not installed"
    ),
]


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    # As in core/tests/test_browser.py: Playwright's sync API keeps an event loop in this thread.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    device_api.enrol_limiter.reset()
    device_api.report_limiter.reset()
    monkeypatch.setattr(device_api, "STREAM_MAX_SECONDS", STREAM_SECONDS)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()
    # The live server's request threads (event streams) end within STREAM_SECONDS; let them finish while the
    # test database is still open to them.
    for thread in threading.enumerate():
        if "process_request_thread" in thread.name:
            thread.join(timeout=STREAM_SECONDS + 5)


def board_bulletin(cast, title: str, board_text: str):
    """A commune bulletin with an e-board text, submitted, approved and published."""
    bulletin = content.do_create_bulletin(
        owner_unit=cast.commune,
        data=BulletinData(title=title, body=f"{title}: nội dung.", board_text=board_text),
        acting_user=cast.commune_editor,
    )
    content.do_submit_bulletin(bulletin, acting_user=cast.commune_editor)
    bulletin.refresh_from_db()
    content.do_approve_bulletin(bulletin, acting_user=cast.approver, revision_number=bulletin.current_revision.number)
    bulletin.refresh_from_db()
    return bulletin


def slot_now(name: str, bulletin) -> SlotData:
    """A slot from five minutes ago to thirty minutes ahead, local time (the browser's clock is not frozen)."""
    local = timezone.now().astimezone(HCM)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    if local.hour == 0 and local.minute < 10 or midnight - local < timedelta(minutes=40):
        pytest.skip("too close to local midnight for a slot around now")
    start = (local - timedelta(minutes=5)).replace(second=0, microsecond=0)
    end = (local + timedelta(minutes=30)).replace(second=0, microsecond=0)
    return SlotData(name=name, start_time=start.time(), end_time=end.time(), start_date=local.date(),
                    items=[{"kind": "bulletin", "bulletin": bulletin}])  # fmt: skip


@pytest.fixture
def board(cast):
    device = make_device(cast, "EB-001", name="Bảng tin chợ Biên Hòa", kind=DeviceKind.BOARD)
    bulletin = board_bulletin(cast, "Lịch tiêm chủng", "Tiêm chủng mở rộng sáng thứ Bảy tại trạm y tế phường")
    slot = save_slot(cast, slot_now("Bảng tin buổi sáng", bulletin))
    return device, bulletin, slot


def enrol(page, live_server, code: str) -> None:
    page.goto(f"{live_server.url}/board/")
    page.get_by_label("Mã đăng ký").fill(code.lower().replace("-", ""))
    page.get_by_role("button", name="Đăng ký").click()


def outbox_empty(page) -> None:
    page.wait_for_function(
        "() => JSON.parse(localStorage.getItem('nguon.board.outbox') || '[]').length === 0", timeout=WAIT_MS
    )


def test_board_enrols_and_shows_the_current_slot(live_server, cast, board, browser):
    from playwright.sync_api import expect

    device, bulletin, slot = board
    page = browser.new_page(locale="vi-VN")
    page.goto(f"{live_server.url}/board/")
    expect(page.get_by_role("heading", name="Đăng ký bảng tin điện tử")).to_be_visible()

    page.get_by_label("Mã đăng ký").fill("ZZZZ-ZZZZ")
    page.get_by_role("button", name="Đăng ký").click()
    expect(page.get_by_role("alert")).to_contain_text("không đúng", timeout=WAIT_MS)

    enrol(page, live_server, enrolment_code(cast, device))
    expect(page.locator("#content")).to_contain_text("Tiêm chủng mở rộng sáng thứ Bảy", timeout=WAIT_MS)
    expect(page.locator("#content")).to_contain_text("Lịch tiêm chủng")

    token = page.evaluate("localStorage.getItem('nguon.board.token')")
    assert token and token.startswith("nd1_")
    assert page.evaluate("localStorage.getItem('nguon.board.publicKey')")
    assert token not in page.url and "token" not in page.url
    stored = page.evaluate("JSON.parse(localStorage.getItem('nguon.board.manifest'))")
    assert stored["device"]["code"] == "EB-001"
    assert page.locator("#offline").is_hidden()

    # A reload starts from localStorage: no form, the same content.
    page.reload()
    expect(page.locator("#content")).to_contain_text("Tiêm chủng mở rộng", timeout=WAIT_MS)
    assert page.locator("#enrol").is_hidden()


def test_board_follows_manifest_changes_and_push_commands(live_server, cast, board, browser):
    from playwright.sync_api import expect

    device, _bulletin, slot = board
    page = browser.new_page(locale="vi-VN")
    enrol(page, live_server, enrolment_code(cast, device))
    expect(page.locator("#content")).to_contain_text("Tiêm chủng mở rộng", timeout=WAIT_MS)
    # Mark the document: a reload would lose it.
    page.evaluate("window.__sameDocument = true")

    # The slot now carries another bulletin: a `manifest` event, the board refetches and shows it.
    storm = board_bulletin(cast, "Cảnh báo mưa lớn", "Mưa lớn chiều nay, người dân hạn chế ra đường")
    data = slot_now("Bảng tin buổi sáng", storm)
    save_slot(cast, data, slot)
    expect(page.locator("#content")).to_contain_text("Mưa lớn chiều nay", timeout=WAIT_MS)

    # An operator pushes an item: it interrupts the schedule at once.
    actions.do_push_command(
        [device],
        type="play",
        body={"item": {"kind": "board", "title": "Thông báo khẩn", "text": "Mất điện khu phố 3 từ 14 giờ"}},
        acting_user=operator(cast.commune),
        unit=cast.commune,
    )
    expect(page.locator("#content")).to_contain_text("Mất điện khu phố 3", timeout=WAIT_MS)
    assert page.evaluate("window.__sameDocument === true")

    # `stop` ends the push and the current slot: the idle screen with the clock.
    stopper = operator(cast.commune, "op2")
    actions.do_push_command([device], type="stop", body={}, acting_user=stopper, unit=cast.commune)
    expect(page.locator("#idle")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#idle-date")).to_contain_text("tháng")
    assert page.evaluate("window.__sameDocument === true")


def test_board_reports_proof_of_play(live_server, cast, board, browser):
    from playwright.sync_api import expect

    device, bulletin, slot = board
    page = browser.new_page(locale="vi-VN")
    enrol(page, live_server, enrolment_code(cast, device))
    expect(page.locator("#content")).to_contain_text("Tiêm chủng mở rộng", timeout=WAIT_MS)
    outbox_empty(page)

    plays = PlayRecord.objects.filter(device=device)
    record = plays.get()
    assert record.slot_id == slot.pk
    assert record.occurrence.startswith(f"{slot.pk}@")
    assert record.item == str(bulletin.pk)
    assert record.result == "played"
    assert abs(record.started_at - timezone.now()) < timedelta(minutes=1)
    assert device.heartbeats.exists()
    # The manifest was checked with WebCrypto Ed25519 (no fallback, no refusal).
    assert not device.logs.filter(message__in=["ed25519_unsupported", "manifest_bad_signature"]).exists()
