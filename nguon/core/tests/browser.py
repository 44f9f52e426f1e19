"""Shared browser fixtures: Debian chromium through Playwright, signed-in contexts, and page watchers.

Use in a test module with `from nguon.core.tests.browser import chromium  # noqa: F401` (and `needs_chromium` in
its pytestmark); `signed_in_context(browser, live_server, user)` opens a context already past password and TOTP.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
DESKTOP = {"viewport": {"width": 1366, "height": 768}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}

needs_chromium = pytest.mark.skipif(
    not shutil.which(CHROMIUM) and not os.environ.get("CI"), reason="Debian chromium is not installed"
)

LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Collects Content-Security-Policy violations in the page itself: the event fires for every refused script,
# style, image or connection, including those a console listener would miss after a navigation.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " +
                              (e.sourceFile || "") + ":" + (e.lineNumber || 0));
});
"""


@pytest.fixture(scope="module")
def chromium():
    """One chromium per test module (starting it costs about a second).

    Not per session: Playwright's sync API runs an event loop in the main thread while it is open, so a session-wide
    browser would break every later test that calls `asyncio.run` (the agent's) and any other Playwright instance.
    """
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; Django then refuses ORM calls from the test body,
    # although they never run inside that loop. Django documents this switch for exactly this case.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            yield browser
            browser.close()


def session_cookie(user) -> str:
    """A session for `user`, signed in and, when the role requires it, past TOTP (as after the real steps)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user, backend="nguon.accounts.backends.RoleBackend")
    if user.requires_two_factor():
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="Test", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def signed_in_context(browser, live_server, user, *, phone: bool = False, locale: str = "vi-VN"):
    """A new browser context for `user`, with the CSP listener installed on every page."""
    context = browser.new_context(locale=locale, **(PHONE if phone else DESKTOP))
    if user is not None:
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie(user), "url": live_server.url}]
        )
    context.add_init_script(CSP_LISTENER)
    return context


@dataclass
class PageWatch:
    """What went wrong while a page loaded: server errors, CSP violations, console errors."""

    server_errors: list[str] = field(default_factory=list)
    console_csp: list[str] = field(default_factory=list)

    def attach(self, page) -> PageWatch:
        page.on("response", self._on_response)
        page.on("console", self._on_console)
        return self

    def _on_response(self, response) -> None:
        if response.status >= 500:
            self.server_errors.append(f"{response.status} {response.url}")

    def _on_console(self, message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.console_csp.append(message.text)

    def csp_violations(self, page) -> list[str]:
        """Violations the page saw (its listener) plus those only the console reported."""
        try:
            seen = page.evaluate("window.__cspViolations || []")
        except Exception:  # the page navigated away or closed: the console copy remains
            seen = []
        return [*seen, *self.console_csp]


def page_is_wider_than_screen(page) -> int:
    """How many CSS pixels the page overflows the screen horizontally (0 when it fits).

    Measured against the emulated screen, not `innerWidth`: a mobile browser widens its layout viewport (and
    zooms out) to fit a page that overflows, so `innerWidth` grows with the very overflow we look for.
    """
    width = page.evaluate(
        "Math.max(document.documentElement.scrollWidth, document.body ? document.body.scrollWidth : 0)"
    )
    return max(0, width - page.viewport_size["width"])


WIDEST = """(limit) => {
  for (const e of [...document.querySelectorAll("body *")].reverse()) {
    if (e.closest("select")) continue;
    const r = e.getBoundingClientRect();
    if (r.right > limit + 1) return e.tagName.toLowerCase() + (e.className ? "." + e.className : "") + " «" +
      (e.textContent || e.value || "").trim().slice(0, 40) + "» ends at " + Math.round(r.right) + " px";
  }
  return "";
}"""


def widest_element(page) -> str:
    """The innermost element that sticks out past the screen's right edge, to name in a failure."""
    return page.evaluate(WIDEST, page.viewport_size["width"])
