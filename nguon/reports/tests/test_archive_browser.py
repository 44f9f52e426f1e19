"""Chromium on a phone: a generating report's progress bar refreshes by itself (htmx, no inline script) until its
files appear; the archive fits the screen."""

from __future__ import annotations

import pytest

from nguon.core.tests.browser import (
    PageWatch,
    chromium,  # noqa: F401
    needs_chromium,
    page_is_wider_than_screen,
    signed_in_context,
    widest_element,
)
from nguon.reports import actions, periods
from nguon.reports.models import ReportRun

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.django_db(transaction=True)]


def test_the_progress_bar_refreshes_until_the_files_are_there(live_server, cast, chromium):  # noqa: F811
    from playwright.sync_api import expect

    run = actions.do_request_report_run(
        kind="ttcs", unit=cast.province, period=periods.parse("month", "2026-11"), formats=["xlsx"],
        acting_user=cast.province_editor,
    )  # fmt: skip
    run.refresh_from_db()  # made at once: tasks run inline in tests
    files = run.files
    # As the worker leaves it half-way.
    ReportRun.objects.filter(pk=run.pk).update(state=ReportRun.State.RUNNING, progress=57, files={})
    context = signed_in_context(chromium, live_server, cast.province_editor, phone=True)
    page = context.new_page()
    watch = PageWatch().attach(page)
    page.goto(f"{live_server.url}/reports/archive/")
    expect(page.locator(f"#progress-{run.pk}")).to_have_attribute("value", "57")
    assert page_is_wider_than_screen(page) == 0, widest_element(page)
    ReportRun.objects.filter(pk=run.pk).update(state=ReportRun.State.DONE, progress=100, files=files)
    expect(page.get_by_role("link", name=".xlsx")).to_be_visible(timeout=6_000)
    expect(page.locator(f"#progress-{run.pk}")).to_have_count(0)
    page.get_by_role("link", name="Báo cáo định kỳ hoạt động thông tin cơ sở (TTCS)").click()
    expect(page.get_by_text(files["xlsx"]["sha256"])).to_be_visible()
    assert page_is_wider_than_screen(page) == 0, widest_element(page)
    assert watch.server_errors == [] and watch.csp_violations(page) == []
    context.close()
