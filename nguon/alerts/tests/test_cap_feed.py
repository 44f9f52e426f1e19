"""The public-feed checks (Google Public Alerts' rules) and the Atom index feed."""

from datetime import datetime
from pathlib import Path

import defusedxml.ElementTree as safe_et
import pytest

from nguon.alerts.cap import MIME_TYPE, NAMESPACE, VIETNAM_TZ, FeedEntry, atom_feed, feed_problems, parse, pick_info

SAMPLES = Path(__file__).with_name("cap_samples")
ATOM = "http://www.w3.org/2005/Atom"
NS = {"atom": ATOM, "cap": NAMESPACE}
BEFORE_EXPIRY = datetime(2025, 10, 13, 12, tzinfo=VIETNAM_TZ)


def vn_message():
    return parse((SAMPLES / "vn_vddma_flood_dong_nai.xml").read_bytes()).message


def test_a_complete_actual_public_alert_has_no_problems():
    assert feed_problems(vn_message(), now=BEFORE_EXPIRY) == []


def _clear_expires(message):
    message.infos[1].expires = None


def _clear_description(message):
    message.infos[0].description = ""


def _clear_areas(message):
    message.infos[0].areas = []


def _unknown(field):
    def mutate(message):
        setattr(message.infos[1], field, "Unknown")

    return mutate


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (_clear_expires, "missing_expires"),
        (_clear_description, "missing_description"),
        (_clear_areas, "missing_area"),
        (_unknown("urgency"), "unknown_urgency"),
        (_unknown("severity"), "unknown_severity"),
        (_unknown("certainty"), "unknown_certainty"),
        (lambda m: setattr(m, "status", "Exercise"), "not_actual"),
        (lambda m: setattr(m, "status", "Test"), "not_actual"),
        (lambda m: setattr(m, "scope", "Restricted"), "not_public"),
        (lambda m: setattr(m, "scope", "Private"), "not_public"),
        (lambda m: setattr(m, "infos", []), "no_info"),
    ],
)
def test_each_rule_is_flagged_alone(mutate, code):
    message = vn_message()
    mutate(message)
    assert feed_problems(message, now=BEFORE_EXPIRY) == [code]


def test_expired_messages_are_flagged():
    message = vn_message()
    assert feed_problems(message, now=datetime(2025, 10, 14, 18, tzinfo=VIETNAM_TZ)) == ["expired"]
    # One translation still running keeps the message alive.
    message.infos[0].expires = datetime(2025, 10, 20, tzinfo=VIETNAM_TZ)
    assert feed_problems(message, now=datetime(2025, 10, 15, tzinfo=VIETNAM_TZ)) == []


def test_the_specification_examples_would_not_all_be_shown():
    homeland = parse((SAMPLES / "spec_a1_homeland_security.xml").read_bytes()).message
    assert feed_problems(homeland, now=BEFORE_EXPIRY) == ["missing_expires"]
    amber = parse((SAMPLES / "spec_a4_amber_alert.xml").read_bytes()).message
    assert feed_problems(amber, now=BEFORE_EXPIRY) == ["missing_expires"]


def test_pick_info():
    message = vn_message()
    assert pick_info(message, "vi-VN").language == "vi-VN"
    assert pick_info(message, "en").language == "en-US"
    assert pick_info(message, "fr").language == "vi-VN"
    assert pick_info(message).language == "vi-VN"
    message.infos = []
    assert pick_info(message, "vi") is None


def build_feed():
    thunderstorm = parse((SAMPLES / "spec_a2_severe_thunderstorm.xml").read_bytes()).message
    entries = [
        FeedEntry(message=vn_message(), url="https://nguon.example.vn/cap/VN-VDDMA-20251012-0007.xml", language="vi"),
        FeedEntry(message=thunderstorm, url="https://nguon.example.vn/cap/KSTO1055887203.xml"),
    ]
    return atom_feed(
        entries,
        feed_id="https://nguon.example.vn/cap/feed.atom",
        title="Cảnh báo thiên tai tỉnh Đồng Nai",
        self_url="https://nguon.example.vn/cap/feed.atom",
        updated=datetime(2025, 10, 12, 6, 5, tzinfo=VIETNAM_TZ),
    )


def test_atom_feed_header():
    root = safe_et.fromstring(build_feed())
    assert root.tag == f"{{{ATOM}}}feed"
    assert root.findtext("atom:id", namespaces=NS) == "https://nguon.example.vn/cap/feed.atom"
    assert root.findtext("atom:title", namespaces=NS) == "Cảnh báo thiên tai tỉnh Đồng Nai"
    assert root.findtext("atom:updated", namespaces=NS) == "2025-10-12T06:05:00+07:00"
    (self_link,) = root.findall("atom:link", NS)
    assert self_link.get("rel") == "self" and self_link.get("href") == "https://nguon.example.vn/cap/feed.atom"
    assert len(root.findall("atom:entry", NS)) == 2


def test_atom_entry_points_at_the_cap_document_and_repeats_its_fields():
    entry = safe_et.fromstring(build_feed()).findall("atom:entry", NS)[0]
    url = "https://nguon.example.vn/cap/VN-VDDMA-20251012-0007.xml"
    assert entry.findtext("atom:id", namespaces=NS) == url
    (link,) = entry.findall("atom:link", NS)
    assert (link.get("rel"), link.get("type"), link.get("href")) == ("alternate", MIME_TYPE, url)
    assert link.get("type") == "application/cap+xml"
    assert entry.findtext("atom:title", namespaces=NS).startswith("Cảnh báo lũ sông Đồng Nai")
    assert entry.findtext("atom:updated", namespaces=NS) == "2025-10-12T06:00:00+07:00"
    assert entry.findtext("atom:author/atom:name", namespaces=NS) == "Cục Quản lý đê điều và Phòng, chống thiên tai"
    assert entry.findtext("atom:summary", namespaces=NS).startswith("Do mưa lớn kéo dài")
    cap = {name: entry.findtext(f"cap:{name}", namespaces=NS) for name in ("event", "effective", "expires", "status")}
    assert cap == {
        "event": "Lũ, ngập lụt",
        "effective": "2025-10-12T06:00:00+07:00",
        "expires": "2025-10-14T18:00:00+07:00",
        "status": "Actual",
    }
    assert entry.findtext("cap:msgType", namespaces=NS) == "Alert"
    assert entry.findtext("cap:category", namespaces=NS) == "Met"
    assert entry.findtext("cap:urgency", namespaces=NS) == "Expected"
    assert entry.findtext("cap:severity", namespaces=NS) == "Severe"
    assert entry.findtext("cap:certainty", namespaces=NS) == "Likely"
    assert entry.findtext("cap:areaDesc", namespaces=NS).startswith("Vùng trũng thấp ven sông Đồng Nai")
    assert entry.findtext("cap:polygon", namespaces=NS).startswith("11.3,106.95 11.28,107.08 ")


def test_atom_entry_without_optional_fields():
    entry = safe_et.fromstring(build_feed()).findall("atom:entry", NS)[1]
    assert entry.findtext("atom:title", namespaces=NS) == "SEVERE THUNDERSTORM WARNING"
    assert entry.findtext("atom:author/atom:name", namespaces=NS) == "NATIONAL WEATHER SERVICE SACRAMENTO CA"
    assert entry.find("cap:effective", NS) is None  # the thunderstorm warning has no <effective>
    assert entry.findtext("cap:expires", namespaces=NS) == "2003-06-17T16:00:00-07:00"
    assert (
        entry.findtext("cap:polygon", namespaces=NS)
        == "38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 38.47,-120.14"
    )


def test_empty_feed_is_still_a_feed():
    xml = atom_feed([], feed_id="urn:x", title="t", self_url="https://x", updated=BEFORE_EXPIRY)
    root = safe_et.fromstring(xml)
    assert root.findall("atom:entry", NS) == []
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
