"""The device back office through its URLs: scoping, registration and its errors, enrolment, groups, map, API."""

from __future__ import annotations

import re

import pytest

from nguon.audit.models import AuditEvent
from nguon.broadcast import actions
from nguon.broadcast.models import CompiledManifest, Device, DeviceGroup, DeviceToken, Slot
from nguon.broadcast.tests.fleet_helpers import make_device, operator, technician
from nguon.core.errors import Forbidden, Invalid

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet(cast):
    """Two loudspeakers and a board in Biên Hòa (26068), one loudspeaker in Trấn Biên (26041)."""
    return {
        "bh1": make_device(cast.commune, "BH-001", latitude=10.9472, longitude=106.8196),
        "bh2": make_device(cast.commune, "BH-002", latitude=10.951, longitude=106.817),
        "board": make_device(cast.commune, "BH-B01", kind="board", name="Bảng tin phường"),
        "tb1": make_device(cast.other_commune, "TB-001", latitude=10.9608, longitude=106.8402),
    }


def device_form(unit=None, **overrides) -> dict:
    data = {
        "code": "BH-NEW",
        "name": "Cụm loa tổ 7",
        "kind": "speaker",
        "technology": "ip",
        "connectivity": "cellular",
        "model": "NL-4G-200",
        "latitude": "10.9401",
        "longitude": "106.8210",
        "volume": "75",
        "grace_seconds": "180",
    }
    if unit is not None:
        data["unit"] = unit.pk
    data.update(overrides)
    return data


def main_menu(html: str) -> str:
    start = html.index('class="mainnav"') if 'class="mainnav"' in html else 0
    return html[start : html.index("</nav>", start)] if start else ""


# --- Scoping ----------------------------------------------------------------------------------------------


def test_commune_technician_sees_only_its_communes_devices(cast, fleet, client_for):
    client = client_for(technician(cast.commune))
    html = client.get("/devices/").content.decode()
    assert "BH-001" in html and "BH-002" in html and "BH-B01" in html
    assert "TB-001" not in html
    assert client.get(f"/devices/{fleet['tb1'].pk}/").status_code == 404
    assert client.get(f"/devices/{fleet['bh1'].pk}/").status_code == 200
    codes = {d["code"] for d in client.get("/api/v1/devices/").json()["items"]}
    assert codes == {"BH-001", "BH-002", "BH-B01"}
    assert client.get(f"/api/v1/devices/{fleet['tb1'].pk}").status_code == 404


def test_province_staff_see_every_commune(cast, fleet, client_for):
    response = client_for(cast.province_editor).get("/devices/")
    html = response.content.decode()
    assert all(code in html for code in ("BH-001", "BH-002", "BH-B01", "TB-001"))
    # A summary per commune links to each commune's list.
    assert [(u["unit__code"], u["total"]) for u in response.context["by_unit"]] == [("26041", 1), ("26068", 3)]
    assert 'href="?unit=26041"' in html
    counts = response.context["counts"]
    assert (counts["active"], counts["online"], counts["offline"], counts["never_seen"]) == (4, 0, 4, 4)
    assert [n for _label, n in counts["by_kind"]] == [3, 1]  # loudspeakers, e-boards
    assert [n for _label, n in counts["by_technology"]] == [4, 0, 0]  # IP, FM, wired


def test_outsider_sees_nothing(cast, fleet, client_for):
    client = client_for(cast.outsider)
    response = client.get("/devices/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "BH-001" not in html and "TB-001" not in html
    assert 'href="/devices/"' not in main_menu(html)  # no "Devices" entry without a role
    assert client.get(f"/devices/{fleet['bh1'].pk}/").status_code == 404
    assert client.get("/api/v1/devices/").json()["items"] == []
    assert client.get("/devices/map/").content.decode().count("<circle") == 0
    assert client.get("/devices/new/").status_code == 403


def test_menu_links_to_the_fleet(cast, client_for):
    html = client_for(cast.commune_editor).get("/").content.decode()
    assert 'href="/devices/"' in main_menu(html)


def test_filters_narrow_the_list_and_keep_the_counts(cast, fleet, client_for):
    client = client_for(cast.province_admin)
    html = client.get("/devices/", {"unit": cast.other_commune.code}).content.decode()
    assert "TB-001" in html and "BH-001" not in html
    html = client.get("/devices/", {"kind": "board"}).content.decode()
    assert "BH-B01" in html and "BH-001" not in html
    html = client.get("/devices/", {"q": "bh-00"}).content.decode()
    assert "BH-001" in html and "BH-002" in html and "TB-001" not in html
    api = client.get("/api/v1/devices/", {"unit": cast.commune.code, "kind": "speaker"}).json()
    assert {d["code"] for d in api["items"]} == {"BH-001", "BH-002"}
    assert client.get("/api/v1/devices/", {"status": "sideways"}).status_code == 422


def test_htmx_refresh_returns_only_the_rows(cast, fleet, client_for):
    response = client_for(cast.province_admin).get("/devices/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'id="fleet-rows"' in html and 'hx-trigger="every 30s"' in html
    assert "BH-001" in html


def test_fleet_list_queries_do_not_grow_with_devices(cast, fleet, client_for, django_assert_max_num_queries):
    client = client_for(cast.province_admin)
    with django_assert_max_num_queries(14) as small:
        assert client.get("/devices/").status_code == 200
    for n in range(25):
        make_device(cast.commune if n % 2 else cast.other_commune, f"X-{n:03d}", latitude=10.9 + n / 1000,
                    longitude=106.8)  # fmt: skip
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get("/devices/").status_code == 200
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get("/api/v1/devices/").status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get("/devices/map/").status_code == 200


# --- Registration and its errors --------------------------------------------------------------------------


def test_technician_registers_a_device(cast, client_for):
    tech = technician(cast.commune)
    response = client_for(tech).post("/devices/new/", device_form(cast.commune))
    device = Device.objects.get(code="BH-NEW")
    assert response.status_code == 302 and response["Location"] == f"/devices/{device.pk}/"
    assert (device.unit, device.volume, device.latitude) == (cast.commune, 75, 10.9401)
    event = AuditEvent.objects.get(action="broadcast.device_created")
    assert event.actor == tech and event.unit == cast.commune


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"code": "bh-001"}, "code", "Already in use."),
        ({"longitude": ""}, "latitude", "Give both latitude and longitude, or neither."),
        ({"latitude": ""}, "latitude", "Give both latitude and longitude, or neither."),
        ({"latitude": "91"}, "latitude", "These are not valid coordinates."),
        ({"longitude": "-181.5"}, "latitude", "These are not valid coordinates."),
        ({"volume": "150"}, "volume", "Volume is between 0 and 100."),
        ({"volume": "-1"}, "volume", "Volume is between 0 and 100."),
        ({"grace_seconds": "5"}, "grace_seconds", "Between 30 seconds and one day."),
        ({"name": "  "}, "name", "This field is required."),
        ({"volume": "loud"}, "volume", "Enter a whole number."),
    ],
)
def test_bad_device_input_is_refused_with_a_clear_error(cast, fleet, client_for, settings, overrides, field, message):
    settings.LANGUAGE_CODE = "en"
    before = Device.objects.count()
    client = client_for(technician(cast.commune))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post("/devices/new/", device_form(cast.commune, **overrides))
    assert response.status_code == 400
    form = response.context["form"]
    assert message in [str(e) for e in form.errors[field]]
    assert message in response.content.decode()
    assert Device.objects.count() == before


def test_actions_refuse_the_same_bad_input(cast, fleet):
    tech = technician(cast.commune)
    with pytest.raises(Invalid) as caught:
        actions.do_create_device(
            unit=cast.commune,
            data=actions.DeviceData(code="Z-1", name="Z", latitude=10.9, longitude=None, volume=150),
            acting_user=tech,
        )
    assert set(caught.value.fields) == {"latitude", "volume"}
    with pytest.raises(Forbidden):
        actions.do_create_device(unit=cast.other_commune, data=actions.DeviceData(code="Z-2", name="Z"),
                                 acting_user=tech)  # fmt: skip
    assert not Device.objects.filter(code__startswith="Z-").exists()


def test_commune_technician_cannot_register_in_another_commune(cast, client_for):
    response = client_for(technician(cast.commune)).post("/devices/new/", device_form(cast.other_commune))
    assert response.status_code == 400
    assert "unit" in response.context["form"].errors
    assert not Device.objects.filter(code="BH-NEW").exists()


@pytest.mark.parametrize("role", ["operator", "editor"])
def test_only_technicians_and_admins_manage_devices(cast, fleet, client_for, role):
    user = operator(cast.commune) if role == "operator" else cast.commune_editor
    client = client_for(user)
    assert client.get("/devices/new/").status_code == 403
    assert client.post("/devices/new/", device_form(cast.commune)).status_code == 403
    assert client.get(f"/devices/{fleet['bh1'].pk}/edit/").status_code == 403
    assert client.post(f"/devices/{fleet['bh1'].pk}/enrolment-code/").status_code == 403
    assert client.post(f"/devices/{fleet['bh1'].pk}/revoke/").status_code == 403
    assert not Device.objects.filter(code="BH-NEW").exists()


def test_edit_keeps_the_code_and_refuses_bad_values(cast, fleet, client_for):
    device = fleet["bh1"]
    client = client_for(cast.commune_admin)
    response = client.post(f"/devices/{device.pk}/edit/", device_form(code="HACKED", name="Cụm loa chợ", volume="60"))
    assert response.status_code == 302
    device.refresh_from_db()
    assert (device.code, device.name, device.volume) == ("BH-001", "Cụm loa chợ", 60)
    response = client.post(f"/devices/{device.pk}/edit/", device_form(volume="150", latitude="", name="Khác"))
    assert response.status_code == 400
    device.refresh_from_db()
    assert (device.name, device.volume, device.latitude) == ("Cụm loa chợ", 60, 10.9401)


# --- Enrolment --------------------------------------------------------------------------------------------


def test_enrolment_code_is_shown_once_and_works_once(cast, fleet, client_for):
    device = fleet["bh1"]
    client = client_for(technician(cast.commune))
    response = client.post(f"/devices/{device.pk}/enrolment-code/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    code = re.search(r'class="code-once">([A-Z0-9]{4}-[A-Z0-9]{4})<', response.content.decode()).group(1)
    # The page shown afterwards no longer knows the code: only its hash is stored.
    later = client.get(f"/devices/{device.pk}/").content.decode()
    assert code not in later and "code-once" not in later
    enrolled, token = actions.do_enrol(code.lower(), hardware={"model": "NL-4G-200"})
    assert enrolled == device and token.startswith("nd1_")
    with pytest.raises(Invalid):
        actions.do_enrol(code)
    assert DeviceToken.objects.filter(device=device, revoked_at__isnull=True).count() == 1


def test_a_new_code_voids_the_previous_one(cast, fleet, client_for):
    client = client_for(cast.commune_admin)
    url = f"/devices/{fleet['bh1'].pk}/enrolment-code/"
    first = re.search(r'code-once">([A-Z0-9-]{9})<', client.post(url).content.decode()).group(1)
    second = re.search(r'code-once">([A-Z0-9-]{9})<', client.post(url).content.decode()).group(1)
    with pytest.raises(Invalid):
        actions.do_enrol(first)
    assert actions.do_enrol(second)[0] == fleet["bh1"]


def test_revoking_cuts_the_device_off(cast, fleet, client_for):
    device = fleet["bh1"]
    code = actions.do_issue_enrolment_code(device, acting_user=None)
    actions.do_enrol(code)
    response = client_for(cast.commune_admin).post(f"/devices/{device.pk}/revoke/")
    assert response.status_code == 302
    assert not DeviceToken.objects.filter(device=device, revoked_at__isnull=True).exists()
    assert AuditEvent.objects.filter(action="broadcast.tokens_revoked").count() == 1


# --- Groups -----------------------------------------------------------------------------------------------


def test_province_technician_groups_devices_across_communes(cast, fleet, client_for):
    tech = technician(cast.province)
    client = client_for(tech)
    response = client.post("/devices/groups/new/", {"unit": cast.province.pk, "name": "Ven sông Đồng Nai",
                                                    "devices": [fleet["bh1"].pk, fleet["tb1"].pk]})  # fmt: skip
    group = DeviceGroup.objects.get(name="Ven sông Đồng Nai")
    assert response.status_code == 302
    assert set(group.devices.all()) == {fleet["bh1"], fleet["tb1"]}
    assert AuditEvent.objects.filter(action="broadcast.group_created", actor=tech).exists()
    html = client.get(f"/devices/groups/{group.pk}/").content.decode()
    assert "BH-001" in html and "TB-001" in html
    # The same name again in the same unit is refused, on the name field.
    response = client.post("/devices/groups/new/", {"unit": cast.province.pk, "name": "ven sông đồng nai"})
    assert response.status_code == 400 and "name" in response.context["form"].errors
    assert DeviceGroup.objects.count() == 1


def test_commune_group_cannot_take_another_communes_device(cast, fleet, client_for):
    client = client_for(operator(cast.commune))
    response = client.post("/devices/groups/new/", {"unit": cast.commune.pk, "name": "Chợ",
                                                    "devices": [fleet["bh1"].pk, fleet["tb1"].pk]})  # fmt: skip
    assert response.status_code == 400 and "devices" in response.context["form"].errors
    with pytest.raises(Invalid) as caught:
        actions.do_save_group(None, unit=cast.commune, data=actions.GroupData("Chợ", devices=[fleet["tb1"]]),
                              acting_user=cast.commune_admin)  # fmt: skip
    assert "TB-001" in str(caught.value.fields["devices"][0])
    assert not DeviceGroup.objects.exists()


def test_viewers_and_editors_cannot_change_groups(cast, fleet, client_for):
    group = actions.do_save_group(None, unit=cast.commune, data=actions.GroupData("Chợ", devices=[fleet["bh1"]]),
                                  acting_user=None)  # fmt: skip
    client = client_for(cast.commune_editor)
    assert client.get(f"/devices/groups/{group.pk}/").status_code == 200
    assert client.post(f"/devices/groups/{group.pk}/", {"name": "Khác"}).status_code == 403
    assert client.post("/devices/groups/new/", {"unit": cast.commune.pk, "name": "Khác"}).status_code == 403
    group.refresh_from_db()
    assert group.name == "Chợ"


def test_changing_membership_recompiles_the_members_it_moves(
    cast, fleet, client_for, django_capture_on_commit_callbacks
):
    from datetime import time

    from django.utils import timezone

    group = actions.do_save_group(None, unit=cast.province, data=actions.GroupData("Vùng 1", devices=[fleet["bh1"]]),
                                  acting_user=None)  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        slot = actions.do_save_slot(
            None,
            unit=cast.province,
            data=actions.SlotData(
                name="Phát lại VOV",
                start_time=time(11),
                end_time=time(11, 30),
                start_date=timezone.localdate(),
                group=group,
                items=[{"kind": "relay", "stream_url": "https://radio.example/vov1"}],
            ),  # fmt: skip
            acting_user=None,
        )
    assert f'"slot":{slot.pk}' in bytes(CompiledManifest.objects.get(device=fleet["bh1"]).body).decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(technician(cast.province)).post(
            f"/devices/groups/{group.pk}/", {"name": "Vùng 1", "devices": [fleet["tb1"].pk]}
        )
    assert response.status_code == 302
    assert f'"slot":{slot.pk}' in bytes(CompiledManifest.objects.get(device=fleet["tb1"]).body).decode()
    assert f'"slot":{slot.pk}' not in bytes(CompiledManifest.objects.get(device=fleet["bh1"]).body).decode()
    event = AuditEvent.objects.get(action="broadcast.group_updated")
    assert event.changes["added"] == ["TB-001"] and event.changes["removed"] == ["BH-001"]
    assert Slot.objects.filter(pk=slot.pk, group=group).exists()


# --- Detail, map, API ---------------------------------------------------------------------------------------


def test_detail_page_shows_the_device(cast, fleet, client_for):
    html = client_for(cast.province_editor).get(f"/devices/{fleet['bh1'].pk}/").content.decode()
    assert "BH-001" in html and cast.commune.name in html
    assert "enrolment-code" not in html  # an editor sees the device but cannot enrol it


def test_map_draws_devices_without_any_tile_service(cast, fleet, client_for):
    client = client_for(cast.province_admin)
    html = client.get("/devices/map/").content.decode()
    start = html.index('<svg viewBox="0 0')  # the map, not the icons of the page's shell
    svg = html[start : html.index("</svg>", start)]
    assert svg.count("<circle") == 3  # the board has no coordinates
    assert "BH-001" in svg and "TB-001" in svg and "BH-B01" not in svg
    assert "map-point offline" in svg  # never seen counts as offline
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")  # nothing fetched from elsewhere
    assert "<img" not in html and '<script src="http' not in html
    # Coordinates are plain SVG numbers whatever the language (no decimal commas).
    assert not re.search(r'c[xy]="\d+,\d', svg)
    assert svg.count("<polygon") == 0  # two devices per commune: no area to outline yet
    # One device alone still gets a sensible frame.
    html = client.get("/devices/map/", {"unit": cast.other_commune.code}).content.decode()
    start = html.index('<svg viewBox="0 0')
    svg = html[start : html.index("</svg>", start)]
    assert svg.count("<circle") == 1 and 'viewBox="0 0 ' in svg


def test_api_detail_has_monitoring_fields(cast, fleet, client_for):
    body = client_for(cast.commune_admin).get(f"/api/v1/devices/{fleet['bh1'].pk}").json()
    assert body["code"] == "BH-001" and body["unit_code"] == cast.commune.code
    assert body["is_online"] is False and body["open_faults"] == 0
    assert body["status_changes"] == [] and body["heartbeats"] == [] and body["groups"] == []
    assert "token_hash" not in body and "report_seq" not in body


def test_demo_adds_devices_and_daily_slots(db):
    from nguon.core.demo import DEMO_DEVICES, load_demo

    load_demo()
    load_demo()  # idempotent
    devices = Device.objects.select_related("unit")
    assert devices.count() == len(DEMO_DEVICES) == 8
    assert devices.filter(kind="board").count() == 2
    assert len({d.unit.code for d in devices}) == 4
    assert all(10.9 < d.latitude < 11.0 and 106.8 < d.longitude < 106.9 for d in devices)
    slots = Slot.objects.filter(unit__code="75").order_by("start_time")
    assert [(s.start_time.isoformat("minutes"), s.end_time.isoformat("minutes")) for s in slots] == [
        ("05:30", "06:00"),
        ("17:00", "17:30"),
    ]
    assert all(s.items.filter(kind="bulletin").count() == 2 for s in slots)
