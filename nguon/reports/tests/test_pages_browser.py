"""The province's yearly report in chromium, as the demo approver, on a 390 px phone and on a desktop."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.utils import timezone

from nguon.core.tests.browser import (
    ARTIFACTS,
    chromium,  # noqa: F401 (a fixture)
    needs_chromium,
    page_is_wider_than_screen,
    signed_in_context,
    widest_element,
)

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(transactional_db):
    from nguon.core.demo import load_demo

    load_demo()


def test_the_yearly_report_on_a_phone_and_a_desktop(demo, live_server, chromium):  # noqa: F811
    import openpyxl
    from playwright.sync_api import expect

    from nguon.accounts.models import User
    from nguon.reports.forms import default_unit
    from nguon.reports.models import UnitDay
    from nguon.units.models import Unit

    approver = User.objects.get(username="pheduyet")
    today = timezone.localdate()
    year = today.year
    # The demo has no device records yet: a few days of figures for the province's first communes.
    province = default_unit(approver)
    for index, commune in enumerate(Unit.objects.filter(parent=province).order_by("code")[:5], start=1):
        UnitDay.objects.create(unit=commune, day=today, played_seconds=index * 3600 * 7, online_minutes=index * 600)
    ARTIFACTS.mkdir(exist_ok=True)
    for screen in ("phone", "desktop"):
        context = signed_in_context(chromium, live_server, approver, phone=screen == "phone")
        page = context.new_page()
        page.goto(f"{live_server.url}/reports/")
        page.get_by_role("link", name="Báo cáo định kỳ hoạt động thông tin cơ sở (TTCS)").click()
        page.get_by_label("Thời gian").select_option("year")
        page.get_by_label("Kỳ báo cáo").fill(str(year))
        page.get_by_role("button", name="Xem").click()
        expect(page.locator("h1")).to_have_text("Báo cáo kết quả hoạt động thông tin cơ sở")
        expect(page.locator("#section-areas .figure svg rect").first).to_be_attached()
        table = page.locator("#section-areas table.report-table")
        expect(table).to_be_visible()
        expect(table.locator("tfoot")).to_contain_text("Tổng")
        assert page_is_wider_than_screen(page) <= 1, widest_element(page)
        page.screenshot(path=str(ARTIFACTS / f"report-ttcs-year-{screen}.png"), full_page=True)
        if screen == "desktop":
            with page.expect_download() as info:
                page.get_by_role("link", name="Tải về .xlsx").click()
            download = info.value
            assert download.suggested_filename.endswith(f"-{year}.xlsx")
            book = openpyxl.load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
            assert book.sheetnames
        context.close()
