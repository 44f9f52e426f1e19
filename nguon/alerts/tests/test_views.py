"""The alerts back office through its URLs: compose, approve or not, bad input, scoping, delivery, import, CAP."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape

from nguon.accounts.roles import Role
from nguon.alerts import actions
from nguon.alerts.models import Alert, AlertApproval, AlertDispatch, AlertRule, AlertState, DispatchState, MsgType
from nguon.alerts.tests.helpers import device_at, make_alert
from nguon.broadcast.tests.device_helpers import make_device
from nguon.conftest import make_user

pytestmark = pytest.mark.django_db

SQUARE_TEXT = "10.9,106.8 10.9,106.9 11,106.9 11,106.8 10.9,106.8"
SQUARE = [[10.9, 106.8], [10.9, 106.9], [11.0, 106.9], [11.0, 106.8], [10.9, 106.8]]


def local_input(moment) -> str:
    """A datetime as the datetime-local field sends it: Vietnam time, to the minute."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def form_data(unit, **overrides) -> dict:
    data = {
        "unit": unit.pk,
        "status": "Actual",
        "event": "Lũ lụt",
        "categories": ["Met"],
        "urgency": "Immediate",
        "severity": "Severe",
        "certainty": "Likely",
        "response_types": ["Evacuate", "Monitor"],
        "headline": "Cảnh báo lũ trên sông Đồng Nai",
        "description": "Mực nước sông Đồng Nai đang lên nhanh.",
        "instruction": "Di chuyển người và tài sản lên nơi cao.",
        "sender_name": "",
        "onset": "",
        "expires": local_input(timezone.now() + timedelta(hours=6)),
        "polygons": "",
        "circles": "",
        "area_desc": "Các phường ven sông",
        "repeat": "2",
    }
    data.update(overrides)
    return data


def errors_of(response, field) -> list[str]:
    assert response.status_code == 400, response.content[:500]
    errors = response.context["form"].errors
    assert field in errors, errors
    page = response.content.decode()
    for message in errors[field]:
        assert escape(message) in page
    return [str(m) for m in errors[field]]


# --- Compose ----------------------------------------------------------------------------------------------------


def test_composing_through_the_form_saves_an_alert_awaiting_approval(cast, client_for):
    client = client_for(cast.province_editor)
    page = client.get("/alerts/new/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Lưu, chờ duyệt" in html and 'name="issue_now"' not in html  # an editor cannot issue
    expires = (timezone.now() + timedelta(hours=3)).replace(second=0, microsecond=0)
    response = client.post(
        "/alerts/new/",
        form_data(
            cast.province,
            area_units=[cast.commune.pk],
            polygons=SQUARE_TEXT,
            circles="11.21,107.21 5",
            expires=local_input(expires),
            headline_en="Flood warning on the Dong Nai river",
        ),
    )
    alert = Alert.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/alerts/{alert.pk}/"
    assert alert.state == AlertState.PENDING and alert.msg_type == MsgType.ALERT
    assert alert.unit == cast.province and alert.created_by == cast.province_editor
    assert list(alert.area_units.all()) == [cast.commune]
    assert alert.polygons == [SQUARE] and alert.circles == [[11.21, 107.21, 5.0]]
    assert alert.expires == expires  # typed in Vietnam time, stored as the same instant
    assert alert.response_types == ["Evacuate", "Monitor"] and alert.categories == ["Met"]
    assert alert.sender_name == cast.province.name  # empty: the issuing unit's name
    assert alert.headline_en == "Flood warning on the Dong Nai river"
    assert not AlertApproval.objects.exists()
    detail = client.get(response["Location"]).content.decode()
    assert "Chờ phê duyệt" in detail and alert.headline in detail
    assert timezone.localtime(expires).strftime("%d/%m/%Y %H:%M") in detail


def test_an_approver_issues_at_once_with_approve_and_issue(cast, client_for):
    device = make_device(cast, "BH-001", kind="board")
    client = client_for(cast.approver)
    assert "Duyệt và phát ngay" in client.get("/alerts/new/").content.decode()
    response = client.post("/alerts/new/", form_data(cast.province, area_units=[cast.commune.pk], issue_now="1"))
    assert response.status_code == 302
    alert = Alert.objects.get()
    assert alert.state == AlertState.ISSUED and alert.issued_at is not None
    assert list(AlertDispatch.objects.filter(alert=alert).values_list("device_id", flat=True)) == [device.pk]
    assert "Đã ban hành" in client.get(response["Location"]).content.decode()


def test_approve_and_issue_under_a_two_person_rule_leaves_it_pending(cast, client_for):
    AlertRule.objects.create(unit=cast.province, approvals_required=2)
    client = client_for(cast.approver)
    client.post("/alerts/new/", form_data(cast.province, area_units=[cast.commune.pk], issue_now="1"))
    alert = Alert.objects.get()
    assert alert.state == AlertState.PENDING
    assert list(alert.approvals.values_list("user", flat=True)) == [cast.approver.pk]
    html = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert "Đã duyệt: 1/2." in html
    assert f'action="/alerts/{alert.pk}/approve/"' not in html  # the same person cannot approve twice


def test_issue_now_posted_by_an_editor_only_saves(cast, client_for):
    client = client_for(cast.province_editor)
    client.post("/alerts/new/", form_data(cast.province, area_units=[cast.commune.pk], issue_now="1"))
    alert = Alert.objects.get()
    assert alert.state == AlertState.PENDING and not alert.approvals.exists()


# (case id, fields to change, fields that must carry an error, Vietnamese text expected on the page)
BAD = [
    ("missing headline", {"headline": ""}, ["headline"], "Trường này là bắt buộc."),
    ("expiry passed", {"expires": "2020-01-01T08:00"}, ["expires"], "Thời điểm hết hiệu lực đã qua."),
    ("open polygon", {"polygons": "10.9,106.8 10.9,106.9 11,106.9 11,106.8"}, ["polygons"], "không khép kín"),
    ("polygon not numbers", {"polygons": "10.9,abc 10.9,106.9"}, ["polygons"], "không phải là số"),
    ("circle without radius", {"circles": "10.95,106.82"}, ["circles"], "bán kính"),
    ("no category", {"categories": []}, ["categories"], "Trường này là bắt buộc."),
    ("no area", {"area_units": []}, ["area_units"], "Hãy cho biết nơi nhận"),
    ("repeat out of range", {"repeat": "9"}, ["repeat"], "5"),
    ("onset after expiry", {"onset": "2099-01-02T08:00", "expires": "2099-01-01T08:00"}, ["onset"], "trước"),
]


@pytest.mark.parametrize(("overrides", "fields", "text"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_is_refused_in_vietnamese_and_nothing_is_saved(cast, client_for, overrides, fields, text):
    client = client_for(cast.province_editor)
    data = form_data(cast.province, area_units=[cast.commune.pk])
    data.update(overrides)
    response = client.post("/alerts/new/", data)
    for field in fields:
        errors_of(response, field)
    assert text in response.content.decode()
    assert not Alert.objects.exists()


def test_every_problem_is_shown_at_once_and_nothing_typed_is_lost(cast, client_for):
    client = client_for(cast.province_editor)
    open_ring = "10.9,106.8 10.9,106.9 11,106.9 11,106.8"
    data = form_data(
        cast.province,
        area_units=[cast.commune.pk],
        headline="",
        expires="2020-01-01T08:00",
        polygons=open_ring,
        description="Mô tả đã gõ, không được mất.",
        instruction_en="Move to higher ground.",
    )
    response = client.post("/alerts/new/", data)
    assert {"headline", "expires", "polygons"} <= set(response.context["form"].errors)
    html = response.content.decode()
    assert "Chưa lưu gì" in html  # the summary at the top
    for typed in ("Mô tả đã gõ, không được mất.", "Move to higher ground.", open_ring, "2020-01-01T08:00"):
        assert escape(typed) in html
    assert re.search(rf'<option value="{cast.commune.pk}"[^>]*selected', html)
    assert not Alert.objects.exists()


def test_update_prefills_from_the_current_alert_and_replaces_it(cast, client_for):
    original = make_alert(cast, area_units=[cast.commune])
    actions.do_approve(original, acting_user=cast.approver)
    client = client_for(cast.approver)
    html = client.get(f"/alerts/new/?update={original.pk}").content.decode()
    assert escape(original.headline) in html and escape(original.description) in html
    response = client.post(
        f"/alerts/new/?update={original.pk}",
        form_data(cast.province, area_units=[cast.commune.pk], headline="Lũ tiếp tục lên", issue_now="1"),
    )
    assert response.status_code == 302, response.content[:800]
    update = Alert.objects.get(headline="Lũ tiếp tục lên")
    original.refresh_from_db()
    assert update.msg_type == MsgType.UPDATE and update.replaces == original
    assert update.state == AlertState.ISSUED and original.state == AlertState.SUPERSEDED
    # The superseded alert cannot be updated again.
    again = client.get(f"/alerts/new/?update={original.pk}")
    assert again.status_code == 302 and again["Location"] == f"/alerts/{original.pk}/"


# --- Decisions --------------------------------------------------------------------------------------------------


def test_an_editor_sees_no_approve_button_and_cannot_approve(cast, client_for):
    alert = make_alert(cast, user=cast.province_editor)
    client = client_for(cast.province_editor)
    html = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert f"/alerts/{alert.pk}/approve/" not in html and f"/alerts/{alert.pk}/reject/" not in html
    response = client.post(f"/alerts/{alert.pk}/approve/")
    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.state == AlertState.PENDING and not AlertApproval.objects.exists()
    assert client.post(f"/alerts/{alert.pk}/reject/", {"reject-comment": "Không"}).status_code == 403
    alert.refresh_from_db()
    assert alert.state == AlertState.PENDING


def test_approver_approves_from_the_detail_page(cast, client_for):
    alert = make_alert(cast, user=cast.province_editor)
    client = client_for(cast.approver)
    html = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert f'action="/alerts/{alert.pk}/approve/"' in html
    response = client.post(f"/alerts/{alert.pk}/approve/")
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.state == AlertState.ISSUED
    # Approving again is refused with a message, not an error page.
    response = client.post(f"/alerts/{alert.pk}/approve/", follow=True)
    assert response.status_code == 200
    assert AlertApproval.objects.count() == 1


def test_reject_needs_a_reason(cast, client_for):
    alert = make_alert(cast, user=cast.province_editor)
    client = client_for(cast.approver)
    response = client.post(f"/alerts/{alert.pk}/reject/", {"reject-comment": ""})
    assert response.status_code == 400 and "Trường này là bắt buộc." in response.content.decode()
    alert.refresh_from_db()
    assert alert.state == AlertState.PENDING
    response = client.post(f"/alerts/{alert.pk}/reject/", {"reject-comment": "Sai địa bàn"})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.state == AlertState.REJECTED


def test_cancel_asks_for_confirmation_first(cast, client_for):
    alert = make_alert(cast)
    actions.do_approve(alert, acting_user=cast.approver)
    client = client_for(cast.approver)
    assert f'href="/alerts/{alert.pk}/cancel/"' in client.get(f"/alerts/{alert.pk}/").content.decode()
    page = client.get(f"/alerts/{alert.pk}/cancel/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Hủy cảnh báo?" in html and 'name="confirm"' in html and "<script" not in html.split("<main", 1)[-1]
    # A POST that does not come from the confirmation button only shows the question again.
    response = client.post(f"/alerts/{alert.pk}/cancel/", {"cancel-comment": "Nước đã rút"})
    assert response.status_code == 200 and 'name="confirm"' in response.content.decode()
    alert.refresh_from_db()
    assert alert.state == AlertState.ISSUED and not Alert.objects.filter(msg_type=MsgType.CANCEL).exists()
    response = client.post(f"/alerts/{alert.pk}/cancel/", {"cancel-comment": "Nước đã rút", "confirm": "1"})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.state == AlertState.CANCELLED
    cancel = Alert.objects.get(msg_type=MsgType.CANCEL)
    assert cancel.replaces == alert and cancel.note == "Nước đã rút"
    # A second cancel is refused with a message on the page, not a server error.
    response = client.post(f"/alerts/{alert.pk}/cancel/", {"cancel-comment": "", "confirm": "1"}, follow=True)
    assert response.status_code == 200
    assert "không còn hiệu lực" in response.content.decode()
    assert Alert.objects.filter(msg_type=MsgType.CANCEL).count() == 1
    # An editor (who cannot cancel a current alert) is refused.
    other = make_alert(cast)
    actions.do_approve(other, acting_user=cast.approver)
    assert client_for(cast.province_editor).get(f"/alerts/{other.pk}/cancel/").status_code == 403


# --- Scoping ----------------------------------------------------------------------------------------------------


def test_users_of_another_commune_get_404(cast, client_for):
    alert = make_alert(cast, unit=cast.commune, user=cast.commune_editor, area_units=[cast.commune])
    neighbour = make_user("editor.tranbien", cast.other_commune, Role.EDITOR)
    client = client_for(neighbour)
    for url in ("", "cap.xml", "delivery/", "delivery/counts/"):
        assert client.get(f"/alerts/{alert.pk}/{url}").status_code == 404, url
    assert client.get(f"/alerts/new/?update={alert.pk}").status_code == 404
    assert client.post(f"/alerts/{alert.pk}/approve/").status_code == 404
    assert alert.headline not in client.get("/alerts/").content.decode()
    # The commune's own editor and the province see it.
    assert client_for(cast.commune_editor).get(f"/alerts/{alert.pk}/").status_code == 200
    assert alert.headline in client_for(cast.province_editor).get("/alerts/").content.decode()


def test_list_filters_and_shows_compose_buttons_to_issuers_only(cast, client_for):
    pending = make_alert(cast, headline="Cảnh báo chờ duyệt")
    issued = make_alert(cast, headline="Cảnh báo đã phát")
    actions.do_approve(issued, acting_user=cast.approver)
    drill = make_alert(cast, headline="Cảnh báo diễn tập", status="Exercise")
    client = client_for(cast.province_editor)
    html = client.get("/alerts/").content.decode()
    assert "Soạn cảnh báo" in html and "Nhập tệp CAP" in html
    assert html.index(drill.headline) < html.index(issued.headline) < html.index(pending.headline)  # newest first
    assert "Diễn tập" in html
    html = client.get("/alerts/?state=pending").content.decode()
    assert pending.headline in html and issued.headline not in html
    html = client.get("/alerts/?status=Exercise").content.decode()
    assert drill.headline in html and pending.headline not in html
    viewer = make_user("viewer.tinh", cast.province, Role.VIEWER)
    html = client_for(viewer).get("/alerts/").content.decode()
    assert pending.headline in html and "Soạn cảnh báo" not in html
    assert client_for(viewer).get("/alerts/new/").status_code == 403


def test_list_queries_do_not_grow_with_the_alerts(cast, client_for, django_assert_max_num_queries):
    client = client_for(cast.province_editor)
    make_alert(cast)
    with CaptureQueriesContext(connection) as few:
        client.get("/alerts/")
    for n in range(10):
        alert = make_alert(cast, headline=f"Cảnh báo {n}", status="Exercise" if n % 2 else "Actual")
        if n % 3 == 0:
            actions.do_approve(alert, acting_user=cast.approver)
    with django_assert_max_num_queries(len(few)):
        html = client.get("/alerts/").content.decode()
    assert "Cảnh báo 9" in html


# --- CAP and delivery -------------------------------------------------------------------------------------------


def test_cap_download(cast, client_for):
    alert = make_alert(cast)
    response = client_for(cast.province_editor).get(f"/alerts/{alert.pk}/cap.xml")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/cap+xml"
    assert alert.identifier.encode() in response.content
    assert b"urn:oasis:names:tc:emergency:cap:1.2" in response.content


def test_delivery_counts_per_state_and_per_commune(cast, client_for):
    mine = [make_device(cast, f"BH-00{i}") for i in range(1, 5)]
    theirs = [device_at(cast, f"TB-00{i}", unit=cast.other_commune) for i in range(1, 3)]
    alert = make_alert(cast, area_units=[cast.commune, cast.other_commune])
    actions.do_approve(alert, acting_user=cast.approver)
    now = timezone.now()
    states = {
        mine[0]: DispatchState.PLAYED,
        mine[1]: DispatchState.PLAYED,
        mine[2]: DispatchState.ACKNOWLEDGED,
        mine[3]: DispatchState.FAILED,
        theirs[0]: DispatchState.SENT,
    }  # theirs[1] stays queued
    for device, state in states.items():
        AlertDispatch.objects.filter(alert=alert, device=device).update(state=state, acknowledged_at=now)
    client = client_for(cast.province_editor)

    response = client.get(f"/alerts/{alert.pk}/delivery/counts/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'hx-trigger="every 2s"' in html and f'hx-get="/alerts/{alert.pk}/delivery/counts/"' in html
    totals = dict(re.findall(r'<div class="card[^"]*" data-state="(\w+)"><span class="num">(\d+)</span>', html))
    assert totals == {"queued": "1", "sent": "1", "acknowledged": "1", "played": "2", "displayed": "0", "failed": "1"}
    assert "33%" in html  # two of six played
    rows = {
        code: dict(re.findall(r'<td class="num-cell" data-state="(\w+)">(?:<a [^>]*>)?(\d+)(?:</a>)?</td>', row))
        for code, row in re.findall(r'<tr data-unit="(\d+)">(.*?)</tr>', html, re.S)
    }
    assert rows[cast.commune.code] == {
        "queued": "0", "sent": "0", "acknowledged": "1", "played": "2", "displayed": "0", "failed": "1"
    }  # fmt: skip
    assert rows[cast.other_commune.code] == {
        "queued": "1", "sent": "1", "acknowledged": "0", "played": "0", "displayed": "0", "failed": "0"
    }  # fmt: skip
    assert timezone.localtime(now).strftime("%d/%m/%Y %H:%M:%S") in html  # the latest acknowledgement
    assert re.search(r"cách đây 0 phút \d\d giây", html)  # time since issue, to the second

    # Delivered: every state of DELIVERED_STATES (acknowledged and played), 3 of 6.
    assert re.search(r'data-delivered><span class="num">3</span><span>Đã nhận · 50%', html)

    page = client.get(f"/alerts/{alert.pk}/delivery/")
    assert page.status_code == 200 and 'id="delivery-counts"' in page.content.decode()
    html = page.content.decode()
    assert f'href="/alerts/{alert.pk}/delivery/?state=failed#devices"' in html
    assert f'href="/alerts/{alert.pk}/delivery/?state=played&amp;unit={cast.commune.code}#devices"' in html
    assert 'id="devices"' not in html  # no state chosen: counts only

    # The devices in one state, each linking to its page; per commune too.
    html = client.get(f"/alerts/{alert.pk}/delivery/?state=failed").content.decode()
    assert re.findall(r'<tr data-device="([\w-]+)">', html) == ["BH-004"]
    assert f'href="/devices/{mine[3].pk}/"' in html
    html = client.get(f"/alerts/{alert.pk}/delivery/?state=played&unit={cast.commune.code}").content.decode()
    assert sorted(re.findall(r'<tr data-device="([\w-]+)">', html)) == ["BH-001", "BH-002"]
    assert cast.commune.name in html
    html = client.get(f"/alerts/{alert.pk}/delivery/?state=queued").content.decode()
    assert re.findall(r'<tr data-device="([\w-]+)">', html) == ["TB-002"]
    assert client.get(f"/alerts/{alert.pk}/delivery/?state=nonsense").status_code == 200

    # Once the alert is no longer current the page stops asking for updates.
    actions.do_cancel(alert, acting_user=cast.approver)
    html = client.get(f"/alerts/{alert.pk}/delivery/counts/").content.decode()
    assert "hx-trigger" not in html and 'data-state="played"><span class="num">2</span>' in html


# --- Import -----------------------------------------------------------------------------------------------------


def cap_document(identifier="urn:uuid:0b3d2e5a-1c1e-4f6b-9a5e-7d3a8e6f0001", *, expires=True) -> bytes:
    sent = timezone.localtime(timezone.now()).replace(microsecond=0)
    end = f"<expires>{(sent + timedelta(hours=6)).isoformat()}</expires>" if expires else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>canhbao@phongchongthientai.vn</sender>
  <sent>{sent.isoformat()}</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>vi-VN</language>
    <category>Met</category>
    <event>Bão</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>
    {end}
    <headline>Bão số 5 đổ bộ vào Đồng Nai</headline>
    <description>Gió mạnh cấp 10.</description>
    <area>
      <areaDesc>Phường Biên Hòa</areaDesc>
      <geocode><valueName>VN-unit</valueName><value>26068</value></geocode>
    </area>
  </info>
</alert>""".encode()


def upload(data: bytes, name="alert.xml") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/xml")


def test_import_a_cap_file_shows_its_warnings(cast, client_for):
    client = client_for(cast.province_editor)
    assert client.get("/alerts/import/").status_code == 200
    response = client.post(
        "/alerts/import/", {"unit": cast.province.pk, "file": upload(cap_document(expires=False), "tin.txt")}
    )
    alert = Alert.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/alerts/{alert.pk}/"
    assert alert.state == AlertState.PENDING and alert.headline == "Bão số 5 đổ bộ vào Đồng Nai"
    assert list(alert.area_units.all()) == [cast.commune]
    assert alert.import_warnings
    html = client.get(response["Location"]).content.decode()
    for warning in alert.import_warnings:
        assert escape(warning) in html


def test_import_refuses_what_is_not_cap_and_keeps_the_unit(cast, client_for):
    client = client_for(cast.province_editor)
    response = client.post("/alerts/import/", {"unit": cast.commune.pk, "file": upload(b"<html><body>x</body></html>")})
    assert response.status_code == 400
    html = response.content.decode()
    assert response.context["form"].errors and "Chưa lưu gì" in html
    assert re.search(rf'<option value="{cast.commune.pk}"[^>]*selected', html)
    assert not Alert.objects.exists()


def test_import_refuses_a_file_over_2_mb(cast, client_for):
    client = client_for(cast.province_editor)
    big = cap_document() + b"<!--" + b"x" * (2 * 1024 * 1024) + b"-->"
    response = client.post("/alerts/import/", {"unit": cast.province.pk, "file": upload(big)})
    assert errors_of(response, "file")
    assert not Alert.objects.exists()


def test_importing_the_same_alert_twice_is_refused(cast, client_for):
    client = client_for(cast.province_editor)
    client.post("/alerts/import/", {"unit": cast.province.pk, "file": upload(cap_document())})
    response = client.post("/alerts/import/", {"unit": cast.province.pk, "file": upload(cap_document())})
    assert response.status_code == 400
    assert Alert.objects.count() == 1


def test_the_area_map_is_there_only_with_a_tile_url(cast, client_for, settings):
    client = client_for(cast.province_editor)
    html = client.get("/alerts/new/").content.decode()
    assert "data-alert-map" not in html and "leaflet" not in html  # the test settings have no tiles
    assert "<script>" not in html  # no inline script (a Content-Security-Policy forbids it)
    device_at(cast, "BH-001", lat=10.95, lon=106.82)
    device_at(cast, "TB-001", unit=cast.other_commune, lat=10.97, lon=106.86)
    settings.MAP_TILE_URL = "https://tiles.example.vn/{z}/{x}/{y}.png"
    html = client.get("/alerts/new/").content.decode()
    assert 'data-tile-url="https://tiles.example.vn/{z}/{x}/{y}.png"' in html
    assert 'data-bounds="10.95,106.82,10.97,106.86"' in html
    assert '<script id="alert-map-devices" type="application/json">[[10.95, 106.82], [10.97, 106.86]]</script>' in html
    assert 'src="/static/vendor/leaflet/leaflet.js"' in html and "<script>" not in html
    # An alert's page shows its shapes read-only, with the devices it would reach marked (1) and the others (0).
    alert = make_alert(cast, area_units=[], circles=[[10.95, 106.82, 1.0]])
    html = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert "data-readonly" in html and 'data-circles="10.95,106.82 1"' in html
    assert '<script id="alert-map-devices" type="application/json">[[10.95, 106.82, 1], [10.97, 106.86, 0]]' in html
