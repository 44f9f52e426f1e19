"""What an alert will reach, shown to the approver before approval (issue 9, item 8): devices per commune, and
warnings for areas (units, polygons, circles) that reach no device or lie outside the issuing unit."""

from __future__ import annotations

import re

import pytest

from nguon.alerts import actions, delivery, reach
from nguon.alerts.tests.helpers import device_at, make_alert

pytestmark = pytest.mark.django_db

SQUARE = [[10.90, 106.80], [10.90, 106.90], [11.00, 106.90], [11.00, 106.80], [10.90, 106.80]]
FAR_SQUARE = [[11.50, 107.50], [11.50, 107.60], [11.60, 107.60], [11.60, 107.50], [11.50, 107.50]]


def test_counts_per_commune_are_what_issuing_would_reach(cast):
    device_at(cast, "A1")
    device_at(cast, "A2")
    device_at(cast, "A3", kind="board")
    device_at(cast, "B1", unit=cast.other_commune, lat=10.95, lon=106.85)  # inside the square
    device_at(cast, "B2", unit=cast.other_commune, lat=10.95, lon=106.95)  # outside it
    alert = make_alert(cast, area_units=[cast.commune], polygons=[SQUARE])
    found = reach.assess(alert)
    assert found.total == 4 and (found.speakers, found.boards) == (3, 1)
    assert [(u.code, u.speakers, u.boards, u.total) for u in found.by_unit] == [  # by official code
        (cast.other_commune.code, 1, 0, 1),
        (cast.commune.code, 2, 1, 3),
    ]
    assert found.warnings == []
    assert found.total == len(delivery.target_devices(alert))


def test_a_shape_outside_the_issuing_unit_is_named(cast):
    device_at(cast, "A1", lat=10.5, lon=106.5)  # the commune's own device, far from the square
    device_at(cast, "B1", unit=cast.other_commune, lat=10.95, lon=106.85)
    device_at(cast, "B2", unit=cast.other_commune, lat=10.96, lon=106.86)
    alert = make_alert(cast, unit=cast.commune, user=cast.commune_editor, area_units=[], polygons=[SQUARE])
    found = reach.assess(alert)
    assert found.total == 0
    assert "The area reaches no device" not in found.warnings[0]  # Vietnamese, as the approver reads it
    assert any("Vùng không tới thiết bị nào" in w for w in found.warnings), found.warnings
    assert any("Đa giác 1 nằm ngoài Phường Biên Hòa" in w and "2 thiết bị" in w for w in found.warnings)


def test_partly_outside_empty_shapes_empty_units_and_unplaced_devices(cast):
    from nguon.units.models import Unit, UnitType

    empty = Unit.objects.create(code="26017", name="Phường Tam Hiệp", unit_type=UnitType.objects.get(slug="phuong"),
                                parent=cast.province)  # fmt: skip
    device_at(cast, "A1", lat=10.95, lon=106.85)
    device_at(cast, "A2")  # no coordinates
    device_at(cast, "B1", unit=cast.other_commune, lat=10.96, lon=106.86)
    alert = make_alert(
        cast, unit=cast.commune, user=cast.commune_editor, area_units=[], polygons=[SQUARE, FAR_SQUARE],
        circles=[[11.8, 107.8, 2.0]],
    )  # fmt: skip
    found = reach.assess(alert)
    assert found.total == 1
    text = " | ".join(found.warnings)
    assert "Đa giác 1 còn phủ 1 thiết bị ngoài Phường Biên Hòa" in text
    assert "Đa giác 2 không có thiết bị nào" in text and "Hình tròn 1 không có thiết bị nào" in text
    assert "1 thiết bị của Phường Biên Hòa chưa có tọa độ" in text
    # A unit of the area with no device, and one outside the issuing unit (as an import may bring).
    province_alert = make_alert(cast, area_units=[empty])
    assert any("Phường Tam Hiệp" in w for w in reach.assess(province_alert).warnings)
    alert.area_units.add(cast.other_commune)
    assert any("nằm ngoài Phường Biên Hòa" in w and "Phường Trấn Biên" in w for w in reach.assess(alert).warnings)


def test_drills_without_drill_devices_say_so(cast):
    device_at(cast, "A1")
    found = reach.assess(make_alert(cast, status="Exercise"))
    assert found.total == 0 and any("diễn tập" in w for w in found.warnings)


def test_the_approver_sees_reach_before_approval_only(cast, client_for):
    device_at(cast, "A1")
    device_at(cast, "A2", kind="board")
    alert = make_alert(cast, user=cast.province_editor, circles=[[11.8, 107.8, 2.0]])
    client = client_for(cast.approver)
    html = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert 'id="reach"' in html
    row = re.search(rf'<tr data-reach-unit="{cast.commune.code}">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r'<td class="num-cell"[^>]*>(\d+)</td>', row) == ["1", "1", "2"]
    assert "Hình tròn 1 không có thiết bị nào" in html
    body = client.get(f"/api/v1/alerts/{alert.pk}/reach").json()
    assert body["total"] == 2 and body["by_unit"][0]["code"] == cast.commune.code and body["warnings"]
    actions.do_approve(alert, acting_user=cast.approver)
    assert 'id="reach"' not in client.get(f"/alerts/{alert.pk}/").content.decode()


def test_the_compose_form_checks_what_it_will_reach_without_saving(cast, client_for):
    from nguon.alerts.models import Alert
    from nguon.alerts.tests.test_views import form_data

    device_at(cast, "A1")
    device_at(cast, "B1", unit=cast.other_commune, lat=10.95, lon=106.85)
    client = client_for(cast.approver)
    data = form_data(cast.province, area_units=[cast.commune.pk], circles="11.8,107.8 2", check_reach="1")
    response = client.post("/alerts/new/", data)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="reach"' in html and f'<tr data-reach-unit="{cast.commune.code}">' in html
    assert "Hình tròn 1 không có thiết bị nào" in html
    assert 'value="11.8,107.8 2"' in html or "11.8,107.8 2</textarea>" in html  # the form keeps what was typed
    assert not Alert.objects.exists()
    # A form with errors shows them instead, and saves nothing either.
    response = client.post("/alerts/new/", {**data, "headline": ""})
    assert response.status_code == 400 and "headline" in response.context["form"].errors
    assert not Alert.objects.exists()
