"""Chromium: an e-board with nothing to play shows the QR code of its own commune's feedback form."""

from __future__ import annotations

import pytest

from nguon.broadcast.models import DeviceKind
from nguon.broadcast.tests.device_helpers import enrolment_code, make_device
from nguon.broadcast.tests.test_board import WAIT_MS, enrol
from nguon.broadcast.tests.test_board import browser as browser  # noqa: F401  (the board tests' chromium)
from nguon.broadcast.tests.test_board import pytestmark as board_marks

pytestmark = [*board_marks, pytest.mark.django_db(transaction=True)]


def test_an_idle_board_shows_the_qr_code_of_its_commune(live_server, cast, browser):  # noqa: F811
    from playwright.sync_api import expect

    device = make_device(cast, "EB-QR", name="Bảng tin UBND phường", kind=DeviceKind.BOARD)
    page = browser.new_page(locale="vi-VN", viewport={"width": 1280, "height": 720})
    enrol(page, live_server, enrolment_code(cast, device))
    expect(page.locator("#idle")).to_be_visible(timeout=WAIT_MS)
    qr = page.locator("#idle-qr")
    expect(qr).to_be_visible(timeout=WAIT_MS)
    expect(qr).to_contain_text("Quét mã để gửi phản ánh")
    expect(page.locator("#idle-qr-img")).to_have_attribute("src", f"/phan-anh/qr.svg?xa={cast.commune.code}")
    assert page.locator("#idle-qr-img").evaluate("img => img.naturalWidth") > 0
