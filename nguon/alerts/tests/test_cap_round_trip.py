"""CAP round trip over real-world samples: what another sender wrote comes back out element for element, nothing
added (issue 9, item 5); times stay in the zone they were written in, and alerts composed here use +07:00 (item 6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from lxml import etree

from nguon.alerts import actions, cap, export, importer
from nguon.alerts.cap import serial
from nguon.alerts.models import Alert
from nguon.alerts.tests.helpers import make_alert

pytestmark = pytest.mark.django_db

SAMPLES = sorted((Path(__file__).parent / "cap_samples").glob("*.xml"))
NUMERIC = {"polygon", "circle", "altitude", "ceiling", "size"}
DSIG = "{http://www.w3.org/2000/09/xmldsig#}"


def _numbers(text: str) -> list[float]:
    return [float(n) for n in text.replace(",", " ").split()]


def leaves(document: bytes) -> list[tuple[str, object]]:
    """Every element with text, as (path, value) in document order: text with its spacing folded, numbers as
    numbers (11.30 and 11.3 are the same latitude). Comments, XML signatures and empty elements (an empty <note/>
    says nothing, and the writer leaves it out) are left out."""
    root = etree.fromstring(document)
    found = []
    for element in root.iter():
        if not isinstance(element.tag, str) or element.tag.startswith(DSIG) or len(element):
            continue
        path = "/".join(etree.QName(e).localname for e in [*reversed(list(element.iterancestors())), element])
        name = etree.QName(element).localname
        text = " ".join((element.text or "").split())
        if not text:
            continue
        found.append((path, _numbers(text) if name in NUMERIC else text))
    return found


def import_sample(cast, data: bytes) -> Alert:
    message = cap.parse(data).message
    with time_machine.travel(message.sent + timedelta(minutes=1), tick=False):
        return importer.import_cap(data, unit=cast.province, acting_user=cast.province_editor)


def test_there_are_samples_of_every_kind():
    messages = [cap.parse(s.read_bytes()).message for s in SAMPLES]
    assert len(SAMPLES) >= 12
    assert any(len({i.language for i in m.infos}) >= 3 for m in messages)  # three languages
    assert any(len(i.areas) >= 3 for m in messages for i in m.infos)  # several areas in one info
    areas = [a for m in messages for i in m.infos for a in i.areas]
    assert any(a.polygons for a in areas) and any(a.circles for a in areas) and any(a.geocodes for a in areas)
    infos = [i for m in messages for i in m.infos]
    assert any(i.parameters for i in infos) and any(i.event_codes for i in infos)
    assert any(r.deref_uri and r.digest for i in infos for r in i.resources)
    assert any(m.references for m in messages) and any(m.incidents for m in messages)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_every_element_of_a_received_message_comes_back_out(cast, sample):
    data = sample.read_bytes()
    alert = import_sample(cast, data)
    document = export.cap_xml(Alert.objects.get(pk=alert.pk))
    assert cap.validate(document) == []
    # The parsed messages are the same, field for field, times as written (offsets, and -00:00 apart from +00:00).
    assert serial.to_data(cap.parse(document).message) == serial.to_data(cap.parse(data).message)
    if not cap.validate(data) and b"urn:oasis:names:tc:emergency:cap:1.2" in data:
        # A valid CAP 1.2 document comes back element for element, in order.
        assert leaves(document) == leaves(data)


def test_nothing_is_added_to_another_senders_message(cast):
    """The Đồng Nai flood sample names two communes of the cast by geocode: the alert reaches them, but the
    export neither adds our own geocodes nor lends the Vietnamese area to the English info."""
    data = (Path(__file__).parent / "cap_samples" / "vn_vddma_flood_dong_nai.xml").read_bytes()
    alert = import_sample(cast, data)
    assert sorted(alert.area_units.values_list("code", flat=True)) == ["26041", "26068"]
    document = export.cap_xml(alert)
    assert export.GEOCODE_NAME.encode() not in document
    assert leaves(document) == leaves(data)


def test_each_info_keeps_its_own_areas_and_the_targeting_uses_all_of_them(cast):
    data = (Path(__file__).parent / "cap_samples" / "vn_nchmf_typhoon_update_three_languages.xml").read_bytes()
    alert = import_sample(cast, data)
    message = export.alert_to_cap(alert)
    assert [len(i.areas) for i in message.infos] == [3, 2, 1]
    assert [i.language for i in message.infos] == ["vi-VN", "en-US", "zh-CN"]
    assert message.infos[0].resources[1].deref_uri and message.infos[0].resources[1].digest
    # The shapes of every info are used once each to find devices (translations repeat the same polygon).
    assert len(alert.polygons) == 1 and len(alert.circles) == 1


def test_received_times_keep_the_senders_text(cast):
    data = (Path(__file__).parent / "cap_samples" / "dwd_thunderstorm_update_de_en.xml").read_bytes()
    document = export.cap_xml(import_sample(cast, data))
    root = etree.fromstring(document)
    ns = {"cap": cap.NAMESPACE}
    assert root.findtext("cap:sent", namespaces=ns) == "2024-07-09T10:00:00+02:00"
    assert root.findtext("cap:info/cap:expires", namespaces=ns) == "2024-07-09T13:00:00+02:00"
    data = (Path(__file__).parent / "cap_samples" / "wcatwc_tsunami_update_utc.xml").read_bytes()
    alert = import_sample(cast, data)
    root = etree.fromstring(export.cap_xml(alert))
    assert root.findtext("cap:sent", namespaces=ns) == "2013-01-05T10:58:23-00:00"
    # A Cancel or Update composed here names it as the sender wrote it.
    assert alert.reference() == "wcatwc@noaa.gov,PAAQ-4-mg5a94,2013-01-05T10:58:23-00:00"


def test_serial_keeps_how_utc_was_spelled():
    for text in ("2026-01-05T10:58:23-00:00", "2026-01-05T10:58:23+00:00", "2026-01-05T17:58:23+07:00"):
        assert cap.format_time(serial.parse_time(text)) == text


def test_composed_alerts_carry_the_zone_of_the_area(cast):
    """Google Public Alerts: times in the local zone of the area; for Vietnam +07:00, in the CAP document and in
    the Atom feed, although the database keeps UTC."""
    moment = datetime(2026, 12, 3, 1, 30, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        alert = make_alert(cast, onset=moment, expires=moment + timedelta(hours=6))
        alert = actions.do_approve(alert, acting_user=cast.approver)
        document = export.cap_xml(alert)
        feed = Client().get("/canh-bao/feed.atom").content
    root = etree.fromstring(document)
    ns = {"cap": cap.NAMESPACE, "atom": "http://www.w3.org/2005/Atom"}
    assert root.findtext("cap:sent", namespaces=ns) == "2026-12-03T08:30:00+07:00"
    assert root.findtext("cap:info/cap:onset", namespaces=ns) == "2026-12-03T08:30:00+07:00"
    assert root.findtext("cap:info/cap:expires", namespaces=ns) == "2026-12-03T14:30:00+07:00"
    atom = etree.fromstring(feed)
    assert atom.findtext("atom:updated", namespaces=ns) == "2026-12-03T08:30:00+07:00"
    entry = atom.find("atom:entry", ns)
    assert entry.findtext("atom:updated", namespaces=ns) == "2026-12-03T08:30:00+07:00"
    assert entry.findtext("atom:published", namespaces=ns) == "2026-12-03T08:30:00+07:00"
    assert entry.findtext("cap:expires", namespaces=ns) == "2026-12-03T14:30:00+07:00"
    # What a Cancel or Update of it names, matches what its document says.
    assert alert.reference().endswith(",2026-12-03T08:30:00+07:00")
