"""The report pages: catalogue, one report with its filter, scoping, bad periods, and the same numbers as JSON."""

from __future__ import annotations

import pytest
from django.utils import timezone

from nguon.reports.models import UnitDay

pytestmark = pytest.mark.django_db


def test_catalogue_lists_every_report_with_a_link(cast, client_for):
    response = client_for(cast.province_editor).get("/reports/")
    assert response.status_code == 200
    assert b'href="/reports/ttcs/"' in response.content


def test_yearly_ttcs_page_shows_the_table(cast, client_for):
    UnitDay.objects.create(unit=cast.commune, day=timezone.localdate(), played_seconds=3600 * 1234 + 1800)
    year = timezone.localdate().year
    response = client_for(cast.approver).get(f"/reports/ttcs/?unit=75&period=year&value={year}")
    assert response.status_code == 200, response.content[:2000]
    assert b"1.234,5" in response.content


def test_a_commune_user_cannot_open_the_province_or_another_commune(cast, client_for):
    client = client_for(cast.commune_editor)
    assert client.get("/reports/ttcs/?unit=75&period=year&value=2026").status_code == 404
    assert client.get("/reports/ttcs/?unit=26041&period=year&value=2026").status_code == 404
    assert client.get("/reports/ttcs/download.xlsx?unit=75&period=year&value=2026").status_code == 404
    own = client.get("/reports/ttcs/?period=month")
    assert own.status_code == 200
    assert b"26068" in own.content


def test_an_unknown_report_is_not_found(cast, client_for):
    assert client_for(cast.province_editor).get("/reports/nothing/").status_code == 404


@pytest.mark.parametrize(
    "query",
    ["period=year&value=1850", "period=year&value=abc", "period=month&value=2026-13", "period=week&value=2026"],
)
def test_an_absurd_period_shows_the_form_with_its_error(cast, client_for, query):
    client = client_for(cast.province_editor)
    client.cookies["django_language"] = "vi"
    response = client.get(f"/reports/ttcs/?unit=75&{query}", HTTP_ACCEPT_LANGUAGE="vi")
    assert response.status_code == 400
    assert b'class="form-errors"' in response.content


@pytest.mark.parametrize("kind", ["ttcs", "availability", "proof_of_play", "alert_delivery", "production", "feedback"])
def test_every_report_page_opens_for_each_period(cast, client_for, kind):
    client = client_for(cast.province_editor)
    for period in ("month", "quarter", "year"):
        response = client.get(f"/reports/{kind}/?unit=75&period={period}")
        assert response.status_code == 200, response.content[:3000]


def _numbers_on_page(html: str, section: str) -> list[list[str]]:
    """The cells of a section's table body, as the page writes them."""
    import re

    block = html.split(f'id="section-{section}"', 1)[1].split("</section>", 1)[0]
    body = block.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in body.split("</tr>") if "<td" in row]


def test_the_page_shows_the_same_numbers_as_the_json(cast, client_for):
    from datetime import date

    from nguon.broadcast.tests.device_helpers import make_device

    make_device(cast, "BH-1")
    for day in range(1, 29):
        UnitDay.objects.create(unit=cast.commune, day=date(2026, 2, day), played_seconds=3600 * 50 + 360,
                               online_minutes=1440, planned_items=1000, played_items=975)  # fmt: skip
    client = client_for(cast.province_editor)
    query = "unit=75&period=month&value=2026-02"
    for kind, section in (("ttcs", "areas"), ("proof_of_play", "communes")):
        body = client.get(f"/api/v1/reports/{kind}?{query}").json()
        html = client.get(f"/reports/{kind}/?{query}", HTTP_ACCEPT_LANGUAGE="vi").content.decode()
        cells = _numbers_on_page(html, section)
        json_rows = {r["code"]: r for r in next(s for s in body["sections"] if s["key"] == section)["rows"]}
        columns = next(s for s in body["sections"] if s["key"] == section)["columns"]
        position = {c["key"]: i for i, c in enumerate(columns)}
        row = next(r for r in cells if r[position["code"]] == "26068")
        if kind == "ttcs":
            assert json_rows["26068"]["broadcast_hours"] == 1402.8
            assert row[position["broadcast_hours"]] == "1.402,8"
            assert json_rows["26068"]["online_share"] == 1.0
            assert row[position["online_share"]] == "100,0\xa0%"
        else:
            assert json_rows["26068"]["planned_items"] == 28000
            assert row[position["planned_items"]] == "28.000"
            assert json_rows["26068"]["played_share"] == 0.975
            assert row[position["played_share"]] == "97,5\xa0%"


def test_the_yearly_page_costs_the_same_queries_however_many_days(cast, client_for):
    from datetime import date, timedelta

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from nguon.broadcast.tests.device_helpers import make_device

    make_device(cast, "BH-1")
    client = client_for(cast.approver)
    url = "/reports/ttcs/?unit=75&period=year&value=2026"
    client.get(url)  # warm caches (session, content types)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    UnitDay.objects.create(unit=cast.commune, day=date(2026, 1, 1), online_minutes=10)
    few = queries()
    UnitDay.objects.bulk_create(
        UnitDay(unit=unit, day=date(2026, 1, 2) + timedelta(days=i), online_minutes=10, played_seconds=60)
        for i in range(300)
        for unit in (cast.commune, cast.other_commune)
    )
    many = queries()
    assert many == few
    assert many <= 25, many


def test_download_is_an_attachment(cast, client_for):
    response = client_for(cast.province_editor).get("/reports/ttcs/download.xlsx?unit=75&period=year&value=2026")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="bao-cao-ttcs-75-2026.xlsx"'
    assert response.content[:2] == b"PK"
    for fmt, magic in (("docx", b"PK"), ("pdf", b"%PDF")):
        other = client_for(cast.province_editor).get(f"/reports/availability/download.{fmt}?unit=26068&period=month")
        assert other.status_code == 200
        assert other["Content-Disposition"].startswith('attachment; filename="bao-cao-availability-26068-')
        assert other.content.startswith(magic)
    assert client_for(cast.province_editor).get("/reports/ttcs/download.odt?unit=75").status_code == 404
    bad = client_for(cast.province_editor).get("/reports/ttcs/download.xlsx?unit=75&period=year&value=1850")
    assert bad.status_code == 400
