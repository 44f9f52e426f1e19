"""CAP in (file and trusted-sender endpoint) and out (export validated against the CAP 1.2 schema)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from nguon.alerts import actions, cap, export, importer
from nguon.alerts.models import Alert, AlertState
from nguon.alerts.tests.helpers import device_at, make_alert
from nguon.broadcast.models import PushEvent
from nguon.core.errors import Conflict, Invalid

pytestmark = pytest.mark.django_db


def cap_time(moment) -> str:
    return cap.format_time(moment)


def flood_cap(
    identifier="urn:oid:2.49.0.1.704.0.2026.11.26.1",
    *,
    expires=None,
    msg_type="Alert",
    references="",
    status="Actual",
    sender="canhbao@phongchongthientai.gov.vn",
    geocodes=("26068", "26041", "26017"),
) -> bytes:
    now = timezone.now().replace(microsecond=0)
    expires = expires or now + timedelta(hours=6)
    refs = f"<references>{references}</references>" if references else ""
    codes = "".join(f"<geocode><valueName>VN-commune</valueName><value>{c}</value></geocode>" for c in geocodes)
    area = f"""<area><areaDesc>Biên Hòa, Trấn Biên, Tam Hiệp</areaDesc>
      <polygon>10.90,106.80 10.90,106.90 11.00,106.90 11.00,106.80 10.90,106.80</polygon>{codes}</area>"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier><sender>{sender}</sender><sent>{cap_time(now)}</sent>
  <status>{status}</status><msgType>{msg_type}</msgType><scope>Public</scope>{refs}
  <info><language>vi-VN</language><category>Met</category><event>Lũ lụt</event><responseType>Evacuate</responseType>
    <urgency>Immediate</urgency><severity>Severe</severity><certainty>Likely</certainty>
    <expires>{cap_time(expires)}</expires><senderName>Cục Quản lý đê điều và Phòng, chống thiên tai</senderName>
    <headline>Cảnh báo lũ trên sông Đồng Nai</headline><description>Mực nước đang lên nhanh.</description>
    <instruction>Di chuyển lên nơi cao.</instruction>{area}</info>
  <info><language>en-US</language><category>Met</category><event>Flood</event><responseType>Evacuate</responseType>
    <urgency>Immediate</urgency><severity>Severe</severity><certainty>Likely</certainty>
    <expires>{cap_time(expires)}</expires><headline>Flood warning on the Dong Nai river</headline>
    <description>The water is rising fast.</description>{area}</info>
</alert>""".encode()


@pytest.fixture
def communes(cast):
    from nguon.units.models import Unit, UnitType

    ward = UnitType.objects.get(slug="phuong")
    Unit.objects.create(code="26017", name="Phường Tam Hiệp", unit_type=ward, parent=cast.province)
    return Unit.objects.filter(code__in=["26068", "26041", "26017"])


def test_import_fills_the_alert_from_both_languages_and_the_geocodes(cast, communes):
    alert = importer.import_cap(flood_cap(), unit=cast.province, acting_user=cast.province_editor)
    assert alert.state == AlertState.PENDING
    assert alert.headline == "Cảnh báo lũ trên sông Đồng Nai"
    assert alert.headline_en == "Flood warning on the Dong Nai river"
    assert alert.sender == "canhbao@phongchongthientai.gov.vn"
    assert sorted(alert.area_units.values_list("code", flat=True)) == ["26017", "26041", "26068"]
    assert alert.polygons and alert.polygons[0][0] == [10.90, 106.80]
    assert alert.import_warnings == []


def test_import_then_export_validates_against_the_schema_and_keeps_the_fields(cast, communes):
    alert = importer.import_cap(flood_cap(), unit=cast.province, acting_user=cast.province_editor)
    document = export.cap_xml(alert)
    assert cap.validate(document) == []
    again = cap.parse(document).message
    original = cap.parse(flood_cap()).message
    assert again.identifier == original.identifier and again.sender == original.sender
    assert again.sent == original.sent
    for mine, theirs in zip(again.infos, original.infos, strict=True):
        assert (mine.language, mine.headline, mine.description, mine.expires) == (
            theirs.language, theirs.headline, theirs.description, theirs.expires)  # fmt: skip
        assert mine.areas[0].polygons == theirs.areas[0].polygons


def test_composed_alerts_export_valid_cap(cast):
    alert = make_alert(cast, polygons=[[[10.9, 106.8], [10.9, 106.9], [11.0, 106.9], [10.9, 106.8]]],
                       circles=[[10.95, 106.85, 3.5]], headline_en="Flood warning")  # fmt: skip
    document = export.cap_xml(alert)
    assert cap.validate(document) == []
    message = cap.parse(document).message
    assert [i.language for i in message.infos] == ["vi-VN", "en-US"]
    assert message.infos[0].areas[0].circles == [(10.95, 106.85, 3.5)]
    assert ("VN-unit", cast.commune.code) in message.infos[0].areas[0].geocodes


def test_update_and_cancel_refer_to_earlier_alerts(cast, communes):
    device_at(cast, "E1", kind="board")
    first = importer.import_cap(flood_cap(), unit=cast.province, acting_user=cast.approver)
    actions.do_approve(first, acting_user=cast.approver)
    reference = first.reference()
    update = importer.import_cap(
        flood_cap("urn:oid:2.49.0.1.704.0.2026.11.26.2", msg_type="Update", references=reference),
        unit=cast.province, acting_user=cast.approver,
    )  # fmt: skip
    assert update.replaces_id == first.pk
    actions.do_approve(update, acting_user=cast.approver)
    first.refresh_from_db()
    assert first.state == AlertState.SUPERSEDED
    assert PushEvent.objects.filter(type="alert_cancel", body__alert__id=first.pk).exists()

    with pytest.raises(Invalid) as caught:
        importer.import_cap(
            flood_cap("urn:oid:x.3", msg_type="Cancel", references="someone,urn:never-seen,2026-11-26T08:00:00+07:00"),
            unit=cast.province, acting_user=cast.approver,
        )  # fmt: skip
    assert caught.value.code == "unknown_reference"


@pytest.mark.parametrize(
    ("document", "code"),
    [
        (b"not xml at all", "invalid_cap"),
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
            b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">&lol2;</alert>',
            "invalid_cap",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&x;</identifier></alert>',
            "invalid_cap",
        ),
        (b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><sender>x</sender></alert>', "invalid_cap"),
    ],
)
def test_unusable_documents_are_refused_with_reasons_and_nothing_saved(cast, document, code):
    with pytest.raises(Invalid) as caught:
        importer.import_cap(document, unit=cast.province, acting_user=cast.province_editor)
    assert caught.value.code == code
    assert caught.value.fields  # where and why, for people and machines
    assert not Alert.objects.exists()


def test_expired_alerts_and_duplicates_are_refused(cast, communes):
    past = timezone.now() - timedelta(minutes=5)
    with pytest.raises(Invalid) as caught:
        importer.import_cap(flood_cap(expires=past), unit=cast.province, acting_user=cast.province_editor)
    assert "expires" in caught.value.fields
    importer.import_cap(flood_cap(), unit=cast.province, acting_user=cast.province_editor)
    with pytest.raises(Conflict):
        importer.import_cap(flood_cap(), unit=cast.province, acting_user=cast.province_editor)
    assert Alert.objects.count() == 1


def test_lenient_on_what_can_be_understood(cast, communes):
    document = flood_cap().replace(b"<severity>Severe</severity>", b"<severity>Terrible</severity>", 1)
    alert = importer.import_cap(document, unit=cast.province, acting_user=cast.province_editor)
    assert alert.severity == "Unknown"
    assert alert.import_warnings


class TestTrustedSenderEndpoint:
    URL = "/api/v1/alerts/cap"

    @pytest.fixture
    def sender(self, cast, communes):
        return actions.do_add_sender(name="Cục QLĐĐ và PCTT", cap_sender="canhbao@phongchongthientai.gov.vn",
                                     unit=cast.province)  # fmt: skip

    def post(self, client, body, token=None):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        return client.post(self.URL, body, content_type="application/cap+xml", **headers)

    def test_a_trusted_sender_posts_and_the_alert_waits_for_approval(self, client, sender):
        _sender, token = sender
        response = self.post(client, flood_cap(), token)
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["state"] == "pending" and body["identifier"].endswith(".1")
        assert Alert.objects.get().origin == "http"

    def test_untrusted_or_unknown_senders_are_refused(self, client, sender):
        _sender, token = sender
        assert self.post(client, flood_cap()).status_code == 401
        assert self.post(client, flood_cap(), "ncap_wrong").status_code == 401
        response = self.post(client, flood_cap(sender="someone@else.example"), token)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "untrusted_sender"
        assert not Alert.objects.exists()

    def test_bad_documents_get_structured_errors(self, client, sender):
        _sender, token = sender
        response = self.post(client, b"<alert>", token)
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "invalid_cap" and error["fields"]
        assert not Alert.objects.exists()


SAMPLES = sorted((Path(__file__).parent / "cap_samples").glob("*.xml"))


def test_there_are_real_world_samples():
    assert len(SAMPLES) >= 8


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_real_world_samples_round_trip_through_the_database(cast, sample):
    """Import (at the moment the message was sent, so that it is current) → Alert row → export: the export is valid
    CAP 1.2 and keeps what the system uses of the main <info>."""
    data = sample.read_bytes()
    original = cap.parse(data).message
    with time_machine.travel(original.sent + timedelta(minutes=1), tick=False):
        alert = importer.import_cap(data, unit=cast.province, acting_user=cast.province_editor)
        document = export.cap_xml(alert)
    assert cap.validate(document) == []
    again = cap.parse(document).message
    assert (again.identifier, again.sender, again.sent, again.status, again.msg_type) == (
        original.identifier, original.sender, original.sent, original.status, original.msg_type)  # fmt: skip
    main = next((i for i in original.infos if i.language.lower().startswith("vi")), original.infos[0])
    mine = again.infos[0]
    fields = ("language", "event", "urgency", "severity", "certainty", "headline", "description", "instruction")
    assert [getattr(mine, f) for f in fields] == [getattr(main, f) or "" for f in fields]
    assert mine.expires == main.expires and mine.onset == main.onset
    assert [r for a in mine.areas for r in a.polygons] == [r for a in main.areas for r in a.polygons]
    assert [c for a in mine.areas for c in a.circles] == [c for a in main.areas for c in a.circles]


def test_api_names_unknown_area_units_in_vietnamese(cast, client_for):
    from nguon.alerts.tests.helpers import alert_data

    payload = {**alert_data(), "unit": "75", "area_units": ["26068", "99999"]}
    payload = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in payload.items()}
    response = client_for(cast.province_editor).post("/api/v1/alerts", payload, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unknown_unit"
    assert error["fields"]["area_units"] == ["Không có đơn vị nào mang các mã: 99999"]
    assert not Alert.objects.exists()
