"""Emergency alerts on the e-board player (/board/) in Debian chromium (protocol §4.1): the full-screen overlay,
its acknowledgement in the report batches, the alert stack, `replaces`, `alert_cancel` and expiry.

Only what the board sends is checked here: whether the server stores `alert` records is another suite's business.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from nguon.broadcast.models import DeviceKind, PushEvent
from nguon.broadcast.protocol import iso_ms
from nguon.broadcast.tests.device_helpers import enrolment_code, make_device
from nguon.broadcast.tests.schedule_helpers import HCM
from nguon.broadcast.tests.test_board import (  # noqa: F401 - `board` and `browser` are fixtures
    WAIT_MS,
    board,
    browser,
    enrol,
    outbox_empty,
)
from nguon.broadcast.tests.test_board import pytestmark as board_marks

pytestmark = board_marks  # browser, and skipped without Debian chromium

DRILL = "DIỄN TẬP — KHÔNG PHẢI TÌNH HUỐNG THẬT"
REPORTS = "/device/v1/reports"
EVENTS = "/device/v1/events"
ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture
def board_device(cast):
    return make_device(cast, "EB-101", name="Bảng tin nhà văn hóa khu phố 3", kind=DeviceKind.BOARD)


def start_board(chromium, live_server, cast, device):
    """A page with `device` enrolled and running, and the list of `alert` records it will POST (filled as it goes)."""
    from playwright.sync_api import expect

    page = chromium.new_page(locale="vi-VN")
    sent: list[dict] = []
    page.on("request", lambda request: sent.extend(alert_records(request)))
    enrol(page, live_server, enrolment_code(cast, device))
    expect(page.locator("#screen")).to_be_visible(timeout=WAIT_MS)
    return page, sent


def alert_records(request) -> list[dict]:
    """The `alert` records of a report batch the board POSTed (none for any other request)."""
    if request.method != "POST" or not request.url.endswith(REPORTS):
        return []
    return [record for record in request.post_data_json["records"] if record.get("type") == "alert"]


def reports(alert_id: int, state: str):
    """A predicate for page.expect_request: a report batch carrying that alert record."""
    return lambda request: any(r["alert"] == alert_id and r["state"] == state for r in alert_records(request))


def stream_open(page) -> None:
    """Make sure the board will receive the next event.

    A board that has handled no event yet reconnects without Last-Event-ID, and such a stream starts after the
    newest event (streams last a few seconds in these tests): wait for the board to open a stream, so that the event
    created next comes after it. Once the board has handled an event it reconnects with Last-Event-ID and misses none.
    """
    if page.evaluate("Number(localStorage.getItem('nguon.board.lastEventId')) > 0"):
        return
    with page.expect_response(lambda response: response.url.endswith(EVENTS), timeout=WAIT_MS):
        pass


def push_alert(
    page,
    device,
    alert_id: int,
    headline: str,
    *,
    status: str = "Actual",
    severity: str = "Severe",
    lifetime: timedelta = timedelta(hours=2),
    replaces: tuple[int, ...] = (),
) -> datetime:
    """A signed `alert` event for a board (`item` null) in the outbox, as the alerts app sends it; its expiry."""
    stream_open(page)
    now = timezone.now()
    expires = now + lifetime
    alert = {
        "id": alert_id,
        "identifier": f"urn:oid:2.49.0.1.704.0.2026.{alert_id}",
        "status": status,
        "msg_type": "Update" if replaces else "Alert",
        "replaces": list(replaces),
        "event": "Lũ lụt",
        "severity": severity,
        "urgency": "Immediate",
        "certainty": "Likely",
        "headline": headline,
        "description": "Mực nước sông Đồng Nai đang lên nhanh, vượt báo động 3 tại trạm Biên Hòa.",
        "instruction": "Người dân vùng trũng di chuyển ngay đến nơi cao ráo; không qua lại ngầm, tràn.",
        "sender_name": "Ban Chỉ huy phòng thủ dân sự tỉnh Đồng Nai",
        "language": "vi",
        "onset": iso_ms(now),
        "expires": iso_ms(expires),
    }
    # The event lives as long as the alert (§4.1), but at least a few minutes: an alert that is already over still
    # reaches the board, which must then refuse it on its own.
    PushEvent.objects.create(
        type="alert",
        device_ids=[device.pk],
        body={"alert": alert, "item": None},
        expires_at=max(expires, now + timedelta(minutes=10)),
    )
    return expires


def push_cancel(page, device, alert_id: int) -> None:
    stream_open(page)
    PushEvent.objects.create(
        type="alert_cancel",
        device_ids=[device.pk],
        body={"alert": {"id": alert_id}},
        expires_at=timezone.now() + timedelta(minutes=10),
    )


def valid_until(expires: datetime) -> str:
    return "Hiệu lực đến " + expires.astimezone(HCM).strftime("%H:%M %d/%m/%Y")


def of_alert(sent: list[dict], alert_id: int) -> list[dict]:
    return [record for record in sent if record["alert"] == alert_id]


def test_board_shows_a_drill_alert_acknowledges_it_once_and_removes_it_on_cancel(
    live_server,
    cast,
    board_device,
    browser,  # noqa: F811
):
    from playwright.sync_api import expect

    page, sent = start_board(browser, live_server, cast, board_device)
    overlay = page.get_by_role("alertdialog")
    expect(overlay).to_be_hidden()

    with page.expect_request(reports(7001, "displayed"), timeout=WAIT_MS):
        expires = push_alert(page, board_device, 7001, "Diễn tập ứng phó lũ lớn", status="Exercise")

    # The overlay: above everything, assertive, with the drill banner and every part of the message.
    expect(overlay).to_be_visible()
    expect(overlay).to_have_attribute("aria-live", "assertive")
    expect(page.get_by_role("alertdialog", name="Diễn tập ứng phó lũ lớn")).to_be_visible()
    expect(overlay.get_by_role("heading", name="Diễn tập ứng phó lũ lớn")).to_be_visible()
    expect(overlay.get_by_text(DRILL)).to_be_visible()
    expect(overlay).to_contain_text("Lũ lụt")
    expect(overlay).to_contain_text("vượt báo động 3 tại trạm Biên Hòa")
    expect(overlay).to_contain_text("di chuyển ngay đến nơi cao ráo")
    expect(overlay).to_contain_text(valid_until(expires))
    expect(overlay).to_contain_text("Ban Chỉ huy phòng thủ dân sự tỉnh Đồng Nai")
    expect(overlay).to_have_class(re.compile(r"\balert-severe\b"))
    assert page.evaluate("document.elementFromPoint(innerWidth / 2, innerHeight / 2).closest('#alert') !== null")
    assert page.evaluate("document.elementFromPoint(5, innerHeight - 5).closest('#alert') !== null")

    # What the board sent: an acknowledgement, then `played` (the overlay is shown), numbered like every record.
    acknowledged, played = of_alert(sent, 7001)
    assert set(acknowledged) == set(played) == {"seq", "type", "alert", "state", "at"}
    assert (acknowledged["alert"], acknowledged["state"]) == (7001, "acknowledged")
    assert (played["alert"], played["state"]) == (7001, "displayed")
    assert isinstance(acknowledged["seq"], int) and 0 < acknowledged["seq"] < played["seq"]
    assert played["seq"] <= int(page.evaluate("localStorage.getItem('nguon.board.seq.EB-101')"))
    for record in (acknowledged, played):
        assert ISO_Z.fullmatch(record["at"]), record["at"]
        assert abs(datetime.fromisoformat(record["at"]) - timezone.now()) < timedelta(minutes=1)

    # A reload shows it again from localStorage, and reports nothing more about it (anything the start queued goes
    # out with or before its heartbeat, which empties the outbox).
    page.reload()
    expect(overlay).to_be_visible(timeout=WAIT_MS)
    expect(overlay).to_contain_text("Diễn tập ứng phó lũ lớn")
    outbox_empty(page)
    assert len(of_alert(sent, 7001)) == 2

    # So does a restart with the server out of reach.
    page.route(f"**{EVENTS}", lambda route: route.abort())
    page.route(f"**{REPORTS}", lambda route: route.abort())
    page.route("**/device/v1/manifest", lambda route: route.abort())
    page.reload()
    expect(page.locator("#offline")).to_be_visible(timeout=WAIT_MS)
    expect(overlay).to_be_visible()
    expect(overlay.get_by_text(DRILL)).to_be_visible()
    page.unroute_all()

    push_cancel(page, board_device, 7001)
    expect(overlay).to_be_hidden(timeout=WAIT_MS)
    expect(page.locator("#idle")).to_be_visible()
    page.reload()
    expect(page.locator("#idle")).to_be_visible(timeout=WAIT_MS)
    expect(overlay).to_be_hidden()
    outbox_empty(page)
    assert len(of_alert(sent, 7001)) == 2


def test_board_stacks_alerts_follows_replaces_and_resumes_its_slot(
    live_server,
    cast,
    board,  # noqa: F811
    browser,  # noqa: F811
):
    from playwright.sync_api import expect

    device, _bulletin, _slot = board
    page, sent = start_board(browser, live_server, cast, device)
    expect(page.locator("#content")).to_contain_text("Tiêm chủng mở rộng", timeout=WAIT_MS)
    overlay = page.get_by_role("alertdialog")
    more = page.locator("#alert-more")

    # A real alert: over the slot's content, red, no drill banner.
    push_alert(page, device, 7101, "Lũ quét trên suối Linh", severity="Extreme")
    expect(overlay).to_be_visible(timeout=WAIT_MS)
    expect(overlay.get_by_role("heading")).to_have_text("Lũ quét trên suối Linh")
    expect(overlay.get_by_text(DRILL)).to_be_hidden()
    expect(overlay).to_have_class(re.compile(r"\balert-severe\b"))
    assert overlay.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(176, 0, 32)"
    assert page.evaluate("document.elementFromPoint(innerWidth / 2, innerHeight / 2).closest('#alert') !== null")
    expect(more).to_be_hidden()

    # A second one, less severe (orange): on top, the first waits underneath.
    push_alert(page, device, 7102, "Mưa lớn kèm dông lốc", severity="Moderate")
    expect(overlay.get_by_role("heading")).to_have_text("Mưa lớn kèm dông lốc", timeout=WAIT_MS)
    expect(overlay).to_have_class(re.compile(r"\balert-warning\b"))
    expect(overlay.get_by_text(DRILL)).to_be_hidden()
    expect(more).to_have_text("Còn 1 cảnh báo khác đang có hiệu lực")

    # Cancelling it brings the first back.
    push_cancel(page, device, 7102)
    expect(overlay.get_by_role("heading")).to_have_text("Lũ quét trên suối Linh", timeout=WAIT_MS)
    expect(more).to_be_hidden()

    # An update replaces the first: only the update is left.
    push_alert(page, device, 7103, "Cập nhật: lũ quét lan xuống phường Trấn Biên", replaces=(7101,))
    expect(overlay.get_by_role("heading")).to_have_text("Cập nhật: lũ quét lan xuống phường Trấn Biên", timeout=WAIT_MS)
    expect(more).to_be_hidden()
    assert page.evaluate("JSON.parse(localStorage.getItem('nguon.board.alerts')).map(a => a.id)") == ["7103"]

    # Once it is cancelled the schedule is back where it would be now.
    push_cancel(page, device, 7103)
    expect(overlay).to_be_hidden(timeout=WAIT_MS)
    expect(page.locator("#content")).to_contain_text("Tiêm chủng mở rộng")

    outbox_empty(page)
    states = [(record["alert"], record["state"]) for record in sent]
    for alert_id in (7101, 7102, 7103):
        # Acknowledged once, played once (7101 was shown twice), in that order.
        assert [s for a, s in states if a == alert_id] == ["acknowledged", "displayed"], states
    seqs = [record["seq"] for record in sent]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_board_does_not_show_an_expired_alert_and_drops_one_when_it_expires(
    live_server,
    cast,
    board_device,
    browser,  # noqa: F811
):
    from playwright.sync_api import expect

    page, sent = start_board(browser, live_server, cast, board_device)
    overlay = page.get_by_role("alertdialog")

    # An alert that is already over (its event is still fresh): not shown, not acknowledged. The board handles
    # events in order, so once the next alert is on screen the first one has been dealt with.
    push_alert(page, board_device, 7201, "Cảnh báo đã hết hiệu lực", lifetime=timedelta(minutes=-1))
    expires = push_alert(page, board_device, 7202, "Triều cường chiều nay", lifetime=timedelta(seconds=8))
    expect(overlay.get_by_role("heading")).to_have_text("Triều cường chiều nay", timeout=WAIT_MS)
    expect(overlay).to_contain_text(valid_until(expires))
    expect(page.locator("#alert-more")).to_be_hidden()
    assert page.evaluate("JSON.parse(localStorage.getItem('nguon.board.alerts')).map(a => a.id)") == ["7202"]

    # The second goes by itself when it expires (the board checks every second), and stays gone after a reload.
    expect(overlay).to_be_hidden(timeout=WAIT_MS)
    expect(page.locator("#idle")).to_be_visible()
    assert page.evaluate("JSON.parse(localStorage.getItem('nguon.board.alerts'))") == []
    page.reload()
    expect(page.locator("#idle")).to_be_visible(timeout=WAIT_MS)
    expect(overlay).to_be_hidden()

    outbox_empty(page)
    assert of_alert(sent, 7201) == []
    assert [record["state"] for record in of_alert(sent, 7202)] == ["acknowledged", "displayed"]
