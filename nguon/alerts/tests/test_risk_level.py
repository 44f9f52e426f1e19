"""Disaster risk levels (cấp độ rủi ro thiên tai, QĐ 18/2021/QĐ-TTg) beside CAP's severity (issue 9, item 11):
chosen in the compose form, carried as the CAP parameter CapDoRuiRoThienTai, read back on import, shown on pages."""

from __future__ import annotations

import pytest

from nguon.alerts import cap, export, importer
from nguon.alerts.models import Alert
from nguon.alerts.tests.helpers import alert_data, make_alert
from nguon.alerts.tests.test_import import flood_cap
from nguon.alerts.tests.test_views import form_data

pytestmark = pytest.mark.django_db


def test_composed_with_a_risk_level_it_is_shown_and_exported_as_a_parameter(cast, client_for):
    client = client_for(cast.province_editor)
    page = client.get("/alerts/new/").content.decode()
    assert 'name="risk_level"' in page and "Cấp độ 5: rủi ro ở mức thảm họa" in page
    data = form_data(cast.province, risk_level="4", area_units=[cast.commune.pk])
    response = client.post("/alerts/new/", data)
    assert response.status_code == 302, response.content[:2000]
    alert = Alert.objects.get()
    assert alert.risk_level == 4
    html = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert '<span class="risk risk-4"' in html and "Cấp độ 4: rủi ro rất lớn" in html
    document = export.cap_xml(alert)
    assert cap.validate(document) == []
    info = cap.parse(document).message.infos[0]
    assert ("CapDoRuiRoThienTai", "4") in info.parameters
    # An unknown level is refused next to the field; none at all is fine.
    response = client.post("/alerts/new/", form_data(cast.province, risk_level="7", area_units=[cast.commune.pk]))
    assert response.status_code == 400 and "risk_level" in response.context["form"].errors
    assert client.post("/alerts/new/", form_data(cast.province, area_units=[cast.commune.pk])).status_code == 302
    assert Alert.objects.filter(risk_level__isnull=True).count() == 1


def test_imported_risk_level_is_read_and_a_bad_one_is_a_warning(cast):
    # <parameter> comes after <contact>, before <resource>/<area>: place it where CAP 1.2 puts it.
    with_level = flood_cap().replace(
        b"<area>", b"<parameter><valueName>CapDoRuiRoThienTai</valueName><value>3</value></parameter><area>", 1
    )
    alert = importer.import_cap(with_level, unit=cast.province, acting_user=cast.province_editor)
    assert alert.risk_level == 3
    bad = flood_cap("urn:oid:x.risk").replace(
        b"<area>", b"<parameter><valueName>CapDoRuiRoThienTai</valueName><value>9</value></parameter><area>", 1
    )
    alert = importer.import_cap(bad, unit=cast.province, acting_user=cast.province_editor)
    assert alert.risk_level is None and any("9" in w for w in alert.import_warnings)


def test_the_api_takes_and_checks_the_level(cast, client_for):
    client = client_for(cast.province_editor)
    payload = {**alert_data(risk_level=2), "unit": "75", "area_units": ["26068"]}
    payload = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in payload.items()}
    response = client.post("/api/v1/alerts", payload, content_type="application/json")
    assert response.status_code == 201 and response.json()["risk_level"] == 2
    response = client.post("/api/v1/alerts", {**payload, "risk_level": 6}, content_type="application/json")
    assert response.status_code == 400 and "risk_level" in response.json()["error"]["fields"]
    assert make_alert(cast).risk_level is None
