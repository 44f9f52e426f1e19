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
    assert "1.234,5".encode() in response.content
