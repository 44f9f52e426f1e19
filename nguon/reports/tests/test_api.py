"""Reports API: the catalogue and one report as JSON, with its declared errors."""

from __future__ import annotations

import pytest
from django.utils import timezone

from nguon.reports.models import UnitDay

pytestmark = pytest.mark.django_db


def test_the_catalogue_lists_the_report_types(cast, client_for):
    response = client_for(cast.province_editor).get("/api/v1/reports/")
    assert response.status_code == 200
    keys = [t["key"] for t in response.json()]
    assert "ttcs" in keys
    ttcs = next(t for t in response.json() if t["key"] == "ttcs")
    assert ttcs["periods"] == ["month", "quarter", "year"]
    assert ttcs["url"] == "/api/v1/reports/ttcs"


def test_a_report_as_json(cast, client_for):
    today = timezone.localdate()
    UnitDay.objects.create(unit=cast.commune, day=today, played_seconds=5400)
    response = client_for(cast.province_editor).get(f"/api/v1/reports/ttcs?unit=75&period=year&value={today.year}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["unit"] == {"code": "75", "name": cast.province.name}
    assert body["period"]["from"] == f"{today.year}-01-01"
    rows = {r["code"]: r for r in body["sections"][0]["rows"]}
    assert rows["26068"]["broadcast_hours"] == 1.5
    assert body["sections"][0]["total"]["broadcast_hours"] == 1.5


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/v1/reports/nothing?unit=75", 404, "not_found"),
        ("/api/v1/reports/ttcs?unit=26041", 404, "not_found"),
        ("/api/v1/reports/ttcs?unit=75", 404, "not_found"),
        ("/api/v1/reports/ttcs?unit=26068&period=year&value=1850", 400, "invalid_period"),
        ("/api/v1/reports/ttcs?unit=26068&period=month&value=2026-13", 400, "invalid_period"),
        ("/api/v1/reports/ttcs?unit=26068&period=range&value=2026-01-01..2026-02-01", 400, "invalid_period"),
        ("/api/v1/reports/ttcs?unit=26068&period=fortnight&value=2026", 400, "invalid_period"),
    ],
)
def test_errors_have_their_declared_codes(cast, client_for, path, status, code):
    response = client_for(cast.commune_editor).get(path)
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
