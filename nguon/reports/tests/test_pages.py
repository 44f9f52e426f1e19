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
