"""The public Atom feed and CAP documents as Google Public Alerts reads them (issue 9, items 7, 9 and 18): Cancels and
Updates are entries of their own that point at what they change, ended alerts stay for 48 hours, `updated` never
goes back, one bad stored row cannot take the feed down, and texts in another language carry their `lang`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from django.utils.html import escape
from lxml import etree

from nguon.alerts import actions, cap, export, importer
from nguon.alerts.cap import serial
from nguon.alerts.models import FEED_KEEP, Alert, AlertState
from nguon.alerts.tests.helpers import make_alert

pytestmark = pytest.mark.django_db

NS = {"atom": "http://www.w3.org/2005/Atom", "cap": cap.NAMESPACE}
START = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)


def issued(cast, **fields) -> Alert:
    return actions.do_approve(make_alert(cast, **fields), acting_user=cast.approver)


def feed() -> etree._Element:
    response = Client().get("/canh-bao/feed.atom")
    assert response.status_code == 200
    return etree.fromstring(response.content)


def entries(root) -> dict[str, etree._Element]:
    """Entries by the path of their CAP document (/canh-bao/<id>.xml)."""
    return {e.findtext("atom:id", namespaces=NS).split("testserver")[-1]: e for e in root.findall("atom:entry", NS)}


def cap_url(alert: Alert) -> str:
    return f"/canh-bao/{alert.pk}.xml"


def test_a_cancel_is_published_as_its_own_entry_that_points_at_the_original(cast):
    with time_machine.travel(START, tick=False):
        original = issued(cast, headline="Lũ lớn trên sông Đồng Nai")
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        cancel = actions.do_cancel(original, acting_user=cast.approver, note="Nước đã rút.")
        found = entries(feed())
    original.refresh_from_db()
    assert original.state == AlertState.CANCELLED
    # The original stays (Google: "don't change or remove the existing alert"), and the Cancel is there too.
    assert set(found) == {cap_url(original), cap_url(cancel)}
    entry = found[cap_url(cancel)]
    assert entry.findtext("cap:msgType", namespaces=NS) == "Cancel"
    assert entry.findtext("atom:title", namespaces=NS) == "Đã hủy: Lũ lớn trên sông Đồng Nai"
    related = entry.find("atom:link[@rel='related']", NS)
    assert related.get("href").endswith(cap_url(original)) and related.get("type") == "application/cap+xml"
    # Both CAP documents are fetchable, and the Cancel's <references> names the original as its document says.
    document = Client().get(cap_url(cancel))
    assert document.status_code == 200 and cap.validate(document.content) == []
    message = cap.parse(document.content).message
    theirs = cap.parse(Client().get(cap_url(original)).content).message
    assert message.msg_type == "Cancel"
    assert [(r.sender, r.identifier, r.sent) for r in message.references] == [
        (theirs.sender, theirs.identifier, cap.format_time(theirs.sent))
    ]
    # The public page lists current alerts, and says what was cancelled lately.
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        html = Client().get("/canh-bao/").content.decode()
    assert f'id="alert-{original.pk}"' not in html
    assert "Đã hủy trong 48 giờ qua" in html and "hủy lúc 03/12/2026 09:00" in html
    assert f'href="/canh-bao/{cancel.pk}.xml"' in html


def test_an_update_is_its_own_entry_and_the_updated_alert_stays_for_a_while(cast):
    with time_machine.travel(START, tick=False):
        original = issued(cast, headline="Mưa lớn")
        update = make_alert(cast, msg_type="Update", replaces=original, headline="Mưa rất lớn")
        update = actions.do_approve(update, acting_user=cast.approver)
        found = entries(feed())
    assert set(found) == {cap_url(original), cap_url(update)}
    assert found[cap_url(update)].findtext("cap:msgType", namespaces=NS) == "Update"
    assert found[cap_url(update)].find("atom:link[@rel='related']", NS).get("href").endswith(cap_url(original))
    assert Client().get(cap_url(original)).status_code == 200


def test_ended_alerts_and_cancels_leave_the_feed_after_48_hours(cast):
    with time_machine.travel(START, tick=False):
        cancelled = issued(cast, headline="Sẽ bị hủy", expires=START + timedelta(days=3))
        expiring = issued(cast, headline="Hết hạn sau 1 giờ", expires=START + timedelta(hours=1))
        cancel = actions.do_cancel(cancelled, acting_user=cast.approver)
    with time_machine.travel(START + FEED_KEEP - timedelta(minutes=1), tick=False):
        assert set(entries(feed())) == {cap_url(cancelled), cap_url(cancel), cap_url(expiring)}
    with time_machine.travel(START + FEED_KEEP + timedelta(hours=1, minutes=1), tick=False):
        assert entries(feed()) == {}
        # Gone from the feed, not from the web: every published document stays fetchable.
        for alert in (cancelled, cancel, expiring):
            assert Client().get(cap_url(alert)).status_code == 200


def test_the_feeds_updated_never_goes_backwards(cast):
    seen = []

    def updated() -> datetime:
        value = datetime.fromisoformat(feed().findtext("atom:updated", namespaces=NS))
        assert value.utcoffset() == timedelta(hours=7)
        seen.append(value)
        return value

    with time_machine.travel(START, tick=False):
        first = issued(cast, headline="Thứ nhất", expires=START + timedelta(hours=2))
        updated()
    with time_machine.travel(START + timedelta(minutes=30), tick=False):
        second = issued(cast, headline="Thứ hai", expires=START + timedelta(hours=5))
        assert updated() == START + timedelta(minutes=30)
    with time_machine.travel(START + timedelta(minutes=40), tick=False):
        actions.do_cancel(second, acting_user=cast.approver)  # the newest alert leaves: no step back to `first`
        assert updated() == START + timedelta(minutes=40)
    with time_machine.travel(START + timedelta(hours=3), tick=False):
        assert updated() == first.expires  # an expiry changes the feed too
    with time_machine.travel(START + timedelta(days=5), tick=False):
        updated()  # everything has left the feed
    assert seen == sorted(seen)


def test_one_bad_stored_row_does_not_take_the_feed_down(cast, caplog):
    """A control character written before entry points refused them (or by raw SQL) is dropped and logged; a row
    that cannot be written at all is left out and logged; the others are published."""
    good = issued(cast, headline="Cảnh báo bình thường")
    dirty = issued(cast, headline="Cảnh báo có ký tự lạ")
    broken = issued(cast, headline="Cảnh báo hỏng")
    Alert.objects.filter(pk=dirty.pk).update(headline="Lũ\x0b lớn\x08", description="Nước\x1f lên nhanh.")
    Alert.objects.filter(pk=broken.pk).update(received={"not": "a message"})
    with caplog.at_level(logging.WARNING, logger="nguon.alerts.export"):
        found = entries(feed())
    assert set(found) == {cap_url(good), cap_url(dirty)}
    assert found[cap_url(dirty)].findtext("atom:title", namespaces=NS) == "Lũ lớn"
    logged = [r.getMessage() for r in caplog.records]
    assert any(f"alert {dirty.pk}: characters XML cannot carry" in m for m in logged)
    assert any(f"alert {broken.pk} left out of the public feed" in m for m in logged)
    document = Client().get(cap_url(dirty))
    assert document.status_code == 200 and cap.validate(document.content) == []
    assert cap.parse(document.content).message.infos[0].description == "Nước lên nhanh."
    assert Client().get("/canh-bao/").status_code == 200


def test_texts_not_in_the_pages_language_carry_their_lang(cast):
    """An alert received in English only is shown on the Vietnamese page marked lang="en"; Vietnamese text on the
    Vietnamese page is not marked."""
    data = (Path(__file__).parent / "cap_samples" / "spec_a2_severe_thunderstorm.xml").read_bytes()
    message = cap.parse(data).message
    with time_machine.travel(message.sent + timedelta(minutes=1), tick=False):
        received = importer.import_cap(data, unit=cast.province, acting_user=cast.approver)
        actions.do_approve(received, acting_user=cast.approver)
        ours = issued(cast, headline="Cảnh báo lũ", expires=message.infos[0].expires)
        html = Client().get("/canh-bao/").content.decode()
    assert f'<h2 id="alert-{received.pk}" lang="en">{escape(received.headline)}</h2>' in html
    assert f'<h2 id="alert-{ours.pk}">{escape(ours.headline)}</h2>' in html
    # On the English page the Vietnamese texts are the marked ones (unit names included).
    with time_machine.travel(message.sent + timedelta(minutes=1), tick=False):
        html = Client().get("/canh-bao/?lang=en").content.decode()
        atom = feed()
    assert f'<h2 id="alert-{received.pk}">{escape(received.headline)}</h2>' in html
    assert f'<h2 id="alert-{ours.pk}" lang="vi">{escape(ours.headline)}</h2>' in html
    assert f'<span lang="vi">{escape(cast.commune.name)}</span>' in html
    # The feed says the language of each entry that is not in its own.
    xml_lang = "{http://www.w3.org/XML/1998/namespace}lang"
    assert atom.get(xml_lang) == "vi"
    assert entries(atom)[cap_url(received)].get(xml_lang) == "en-US"
    assert entries(atom)[cap_url(ours)].get(xml_lang) is None


def test_cap_values_are_shown_in_vietnamese(cast, client_for):
    alert = issued(cast)
    html = client_for(cast.approver).get(f"/alerts/{alert.pk}/").content.decode()
    assert "Thật · Cảnh báo · Công khai" in html
    for english in (">Public<", "· Public", ">Immediate<", ">Severe<", ">Likely<", ">Evacuate<"):
        assert english not in html


def test_a_cancel_of_an_alert_never_approved_is_not_published(cast):
    """The public never saw the withdrawn alert: neither it nor the Cancel that withdrew it is in the feed."""
    pending = make_alert(cast, headline="Chưa duyệt")
    cancel = actions.do_cancel(pending, acting_user=cast.approver)
    pending.refresh_from_db()
    assert pending.state == AlertState.WITHDRAWN
    assert entries(feed()) == {}
    assert Client().get(cap_url(cancel)).status_code == 404
    assert Client().get(cap_url(pending)).status_code == 404


def test_the_alerts_page_shows_every_language_of_a_received_message(cast, client_for):
    data = (Path(__file__).parent / "cap_samples" / "vn_nchmf_typhoon_update_three_languages.xml").read_bytes()
    message = cap.parse(data).message
    with time_machine.travel(message.sent + timedelta(minutes=1), tick=False):
        alert = importer.import_cap(data, unit=cast.province, acting_user=cast.approver)
        html = client_for(cast.approver).get(f"/alerts/{alert.pk}/").content.decode()
    assert '<div lang="zh-CN">' in html and escape(message.infos[2].headline) in html
    assert "Cũng có trong bản tin, bằng <code>zh-CN</code>" in html


def test_rows_imported_before_the_message_was_stored_are_written_from_their_document(cast):
    data = (Path(__file__).parent / "cap_samples" / "dwd_thunderstorm_update_de_en.xml").read_bytes()
    message = cap.parse(data).message
    with time_machine.travel(message.sent + timedelta(minutes=1), tick=False):
        alert = importer.import_cap(data, unit=cast.province, acting_user=cast.approver)
    Alert.objects.filter(pk=alert.pk).update(received=None)
    again = export.alert_to_cap(Alert.objects.get(pk=alert.pk))
    assert serial.to_data(again) == serial.to_data(message)
