"""Chromium: an approver's open page shows the bell's count and chimes within seconds of another person submitting
an alert, while the worker e-mails it through a real SMTP server on loopback."""

from __future__ import annotations

import time

import pytest

from nguon.alerts.tests.helpers import make_alert
from nguon.audit.tests.test_worker import live_consumer  # noqa: F401  (a real Huey consumer)
from nguon.core.tests.browser import (  # noqa: F401
    ARTIFACTS,
    PageWatch,
    chromium,
    needs_chromium,
    page_is_wider_than_screen,
    signed_in_context,
)
from nguon.notifications.models import Delivery, DeliveryState
from nguon.notifications.tests.helpers import office  # noqa: F401  (fixture)
from nguon.notifications.tests.smtp import smtp_server  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.django_db(transaction=True)]

SECONDS = 10  # "within seconds": the bell polls every 3 s, the worker's queue at least every second


def test_approver_is_told_by_badge_sound_and_email_within_seconds(
    live_server,
    cast,
    office,  # noqa: F811
    chromium,  # noqa: F811
    smtp_server,  # noqa: F811
    live_consumer,  # noqa: F811
):
    from playwright.sync_api import expect

    context = signed_in_context(chromium, live_server, office.commune_approver)
    page = context.new_page()
    watch = PageWatch().attach(page)
    page.goto(f"{live_server.url}/")
    badge = page.locator("#notification-badge")
    expect(badge).to_have_attribute("data-unread", "0")
    # The approver has used the page (browsers start sound only after an interaction with it).
    page.locator("h1").click()
    assert page.locator("html").get_attribute("data-chimes") is None

    submitted = time.monotonic()
    alert = make_alert(cast, unit=cast.commune, user=cast.commune_editor, headline="Lũ trên sông Đồng Nai")

    expect(badge).to_have_attribute("data-unread", "1", timeout=SECONDS * 1000)
    expect(page.locator("html")).to_have_attribute("data-chimes", "1", timeout=2000)
    badge_seconds = time.monotonic() - submitted
    assert page.locator("html").get_attribute("data-chime-state") == "running"
    assert badge.get_attribute("data-sound-id") == str(office.commune_approver.notifications.get().pk)
    assert "urgent" in (badge.get_attribute("class") or "")

    mail = smtp_server.sink.next(timeout=SECONDS)
    while "approver.bienhoa@example.vn" not in mail.recipients:
        mail = smtp_server.sink.next(timeout=SECONDS)
    email_seconds = mail.at - submitted
    assert email_seconds < SECONDS and badge_seconds < SECONDS
    assert f"/alerts/{alert.pk}/" in mail.message.get_content()

    # The bell leads to the list; opening the notification goes to the alert and marks it read.
    badge.locator("a").click()
    page.wait_for_url("**/notifications/")
    page.locator(".notif-item.unread .notif-title").click()
    page.wait_for_url(f"**/alerts/{alert.pk}/")
    expect(page.locator("#notification-badge")).to_have_attribute("data-unread", "0")
    # Another tab (or a reload) does not chime again for the same alert.
    page.reload()
    assert page.locator("html").get_attribute("data-chimes") is None
    assert watch.server_errors == [] and watch.csp_violations(page) == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{live_server.url}/notifications/")
    page.screenshot(path=str(ARTIFACTS / "notifications.png"), full_page=True)
    assert Delivery.objects.filter(state=DeliveryState.SENT).count() == 2
    context.close()


# Desktop Chrome keeps an AudioContext suspended until the person has interacted with the page; headless chromium
# does not (it plays at once whatever --autoplay-policy says, and reports navigator.userActivation as already
# active). This makes the page's AudioContext follow the desktop rule, an interaction being a trusted pointer or key
# event, so that the page's own handling of a silent chime is what is tested.
DESKTOP_AUTOPLAY_RULE = """
(function () {
  var Real = window.AudioContext;
  var interacted = false;
  function mark(event) { if (event.isTrusted) { interacted = true; } }
  window.addEventListener("pointerdown", mark, true);
  window.addEventListener("keydown", mark, true);
  window.AudioContext = class extends Real {
    constructor(options) { super(options); this.held = !interacted; if (this.held) { super.suspend(); } }
    get state() { return this.held ? "suspended" : super.state; }
    resume() {
      if (!interacted) { return Promise.resolve(); }
      this.held = false;
      return super.resume();
    }
  };
}());
"""


def test_without_an_interaction_the_page_offers_to_turn_sound_on(
    live_server,
    cast,
    office,  # noqa: F811
    chromium,  # noqa: F811
):
    from playwright.sync_api import expect

    context = signed_in_context(chromium, live_server, office.commune_approver)
    context.add_init_script(DESKTOP_AUTOPLAY_RULE)
    page = context.new_page()
    page.goto(f"{live_server.url}/bulletins/")
    make_alert(cast, unit=cast.commune, user=cast.commune_editor)

    html = page.locator("html")
    expect(html).to_have_attribute("data-chimes", "1", timeout=SECONDS * 1000)
    button = page.locator("[data-notif-enable-sound]")
    # Heard nothing: the page says so and offers the button; one click turns sound on.
    assert html.get_attribute("data-chime-state") == "suspended"
    expect(button).to_be_visible()
    button.click()
    expect(html).to_have_attribute("data-chime-state", "running")
    expect(button).to_be_hidden()
    context.close()


def test_notification_pages_fit_a_phone(live_server, cast, office, chromium):  # noqa: F811
    make_alert(cast, unit=cast.commune, user=cast.commune_editor, headline="Cảnh báo lũ " + "rất dài " * 20)
    context = signed_in_context(chromium, live_server, office.commune_approver, phone=True)
    page = context.new_page()
    watch = PageWatch().attach(page)
    for path in ("/", "/notifications/", "/notifications/settings/"):
        page.goto(f"{live_server.url}{path}")
        assert page_is_wider_than_screen(page) <= 0, path
        assert watch.csp_violations(page) == [], path
    assert page.locator("#notification-badge").get_attribute("data-unread") == "1"
    assert watch.server_errors == []
    context.close()


def test_the_chime_comes_back_while_the_alert_waits(live_server, cast, office, chromium, settings):  # noqa: F811
    from playwright.sync_api import expect

    settings.ALERT_CHIME_REPEAT = 1
    make_alert(cast, unit=cast.commune, user=cast.commune_editor)
    context = signed_in_context(chromium, live_server, office.commune_approver)
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    html = page.locator("html")
    expect(html).to_have_attribute("data-chimes", "1")  # waiting since before the page opened: chimes on load
    expect(html).to_have_attribute("data-chimes", "2", timeout=SECONDS * 1000)  # the page checks every 5 s
    # Read: the bell has nothing that sounds any more, so the repeats stop.
    page.goto(f"{live_server.url}/notifications/")
    page.get_by_role("button", name="Đánh dấu đã đọc tất cả").click()
    expect(page.locator("#notification-badge")).to_have_attribute("data-sound-id", "0")
    context.close()
