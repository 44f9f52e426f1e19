"""Building CAP 1.2 documents, and validating documents against the official schema."""

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from lxml import etree

from nguon.alerts.cap import (
    NAMESPACE,
    VIETNAM_TZ,
    Area,
    CapMessage,
    Info,
    Reference,
    Resource,
    format_time,
    parse,
    reference_string,
    to_xml,
    validate,
)

SAMPLES = Path(__file__).with_name("cap_samples")
NS = {"cap": NAMESPACE}


def full_message() -> CapMessage:
    """Return a message that fills every element the standard has."""
    area = Area(
        area_desc="Phường Biên Hòa",
        polygons=[[(10.9, 106.8), (10.9, 106.9), (11.0, 106.9), (11.0, 106.8), (10.9, 106.8)]],
        circles=[(10.95, 106.85, 2.5), (0.00001, 106.85, 0.5)],
        geocodes=[("VN-commune", "26068"), ("VN-commune", "26041")],
        altitude=10.0,
        ceiling=1500.5,
    )
    info = Info(
        language="vi-VN",
        categories=["Met", "Safety"],
        event="Lũ",
        response_types=["Evacuate", "Monitor"],
        urgency="Immediate",
        severity="Extreme",
        certainty="Observed",
        audience="Người dân ven sông",
        event_codes=[("OET:v1.2", "OET-087")],
        effective=datetime(2025, 10, 12, 6, 0, 0, 123456, tzinfo=VIETNAM_TZ),
        onset=datetime(2025, 10, 12, 5, 0, tzinfo=UTC),
        expires=datetime(2025, 10, 14, 18, 0, tzinfo=timezone(timedelta(hours=-5))),
        sender_name="Cục Quản lý đê điều và Phòng, chống thiên tai",
        headline="Lũ trên sông Đồng Nai",
        description="Mực nước vượt báo động III & đang lên <nhanh>.",
        instruction="Di chuyển đến nơi an toàn.",
        web="https://example.vn/canh-bao/7",
        contact="Ban Chỉ huy phòng thủ dân sự tỉnh Đồng Nai",
        parameters=[("VN-disaster-risk-level", "4")],
        resources=[
            Resource(
                resource_desc="Bản tin âm thanh",
                mime_type="audio/mpeg",
                size=123456,
                uri="https://example.vn/canh-bao/7.mp3",
                deref_uri="SUQz",
                digest="da39a3ee5e6b4b0d3255bfef95601890afd80709",
            )
        ],
        areas=[area],
    )
    return CapMessage(
        identifier="VN-VDDMA-20251012-0008",
        sender="canhbao@example.vn",
        sent=datetime(2025, 10, 12, 6, 30, tzinfo=VIETNAM_TZ),
        status="Exercise",
        msg_type="Update",
        source="Trạm Biên Hòa",
        scope="Restricted",
        restriction="Cán bộ trực ban",
        addresses='truc-ban@example.vn "Ban chỉ huy"',
        codes=["profile:VN:0.1", "IPAWSv1.0"],
        note="Bản tin diễn tập",
        references=[
            Reference(
                sender="canhbao@example.vn", identifier="VN-VDDMA-20251012-0007", sent="2025-10-12T06:00:00+07:00"
            )
        ],
        incidents=["lu-dong-nai-2025", "bao so 7"],
        infos=[
            info,
            Info(categories=["Met"], event="Flood", urgency="Immediate", severity="Extreme", certainty="Observed"),
        ],
    )


def child_names(element) -> list[str]:
    return [etree.QName(child).localname for child in element]


def test_full_message_is_valid_and_round_trips():
    message = full_message()
    xml = to_xml(message)
    assert validate(xml) == []
    parsed = parse(xml)
    assert parsed.warnings == []
    expected = full_message()
    # Fractions of a second cannot be written in CAP; everything else survives.
    expected.infos[0].effective = expected.infos[0].effective.replace(microsecond=0)
    assert parsed.message == expected


def test_document_header_and_namespace():
    xml = to_xml(full_message())
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = etree.fromstring(xml)
    assert root.tag == f"{{{NAMESPACE}}}alert"
    assert root.nsmap == {None: NAMESPACE}
    assert "Lũ trên sông Đồng Nai".encode() in xml  # UTF-8, not character references


def test_elements_are_in_schema_order():
    root = etree.fromstring(to_xml(full_message()))
    assert child_names(root) == [
        "identifier",
        "sender",
        "sent",
        "status",
        "msgType",
        "source",
        "scope",
        "restriction",
        "addresses",
        "code",
        "code",
        "note",
        "references",
        "incidents",
        "info",
        "info",
    ]
    info = root.find("cap:info", NS)
    assert child_names(info) == [
        "language",
        "category",
        "category",
        "event",
        "responseType",
        "responseType",
        "urgency",
        "severity",
        "certainty",
        "audience",
        "eventCode",
        "effective",
        "onset",
        "expires",
        "senderName",
        "headline",
        "description",
        "instruction",
        "web",
        "contact",
        "parameter",
        "resource",
        "area",
    ]
    assert child_names(info.find("cap:resource", NS)) == [
        "resourceDesc",
        "mimeType",
        "size",
        "uri",
        "derefUri",
        "digest",
    ]
    assert child_names(info.find("cap:area", NS)) == [
        "areaDesc",
        "polygon",
        "circle",
        "circle",
        "geocode",
        "geocode",
        "altitude",
        "ceiling",
    ]
    assert child_names(info.find("cap:eventCode", NS)) == ["valueName", "value"]


def test_minimal_info_omits_optional_elements():
    root = etree.fromstring(to_xml(full_message()))
    second = root.findall("cap:info", NS)[1]
    assert child_names(second) == ["language", "category", "event", "urgency", "severity", "certainty"]
    assert second.findtext("cap:language", namespaces=NS) == "en-US"


def test_times_use_their_own_numeric_offset_without_fractions():
    root = etree.fromstring(to_xml(full_message()))
    info = root.find("cap:info", NS)
    assert root.findtext("cap:sent", namespaces=NS) == "2025-10-12T06:30:00+07:00"
    assert info.findtext("cap:effective", namespaces=NS) == "2025-10-12T06:00:00+07:00"
    assert info.findtext("cap:onset", namespaces=NS) == "2025-10-12T05:00:00-00:00"  # CAP's spelling of UTC
    assert info.findtext("cap:expires", namespaces=NS) == "2025-10-14T18:00:00-05:00"
    assert b"Z<" not in to_xml(full_message())


def test_format_time():
    # CAP 1.2 §3.3.2: "The timezone for UTC MUST be represented as -00:00".
    assert format_time(datetime(2026, 7, 9, 17, 38, 21, 999999, tzinfo=UTC)) == "2026-07-09T17:38:21-00:00"
    # ... unless the sender wrote +00:00: the parser names the zone so, and the time is written back as it came.
    plus = timezone(timedelta(0), "+00:00")
    assert format_time(datetime(2026, 7, 9, 17, 38, 21, tzinfo=plus)) == "2026-07-09T17:38:21+00:00"
    # An offset with seconds (local mean time) cannot match the pattern, so it is written in UTC.
    odd = timezone(timedelta(hours=7, minutes=6, seconds=40))
    assert format_time(datetime(2025, 1, 1, 7, 6, 40, tzinfo=odd)) == "2025-01-01T00:00:00-00:00"
    with pytest.raises(ValueError):
        format_time(datetime(2025, 1, 1))


def test_geometry_formatting():
    area = etree.fromstring(to_xml(full_message())).find("cap:info/cap:area", NS)
    assert area.findtext("cap:polygon", namespaces=NS) == "10.9,106.8 10.9,106.9 11,106.9 11,106.8 10.9,106.8"
    assert [c.text for c in area.findall("cap:circle", NS)] == ["10.95,106.85 2.5", "0.00001,106.85 0.5"]
    assert area.findtext("cap:ceiling", namespaces=NS) == "1500.5"


def test_references_and_quoted_lists():
    root = etree.fromstring(to_xml(full_message()))
    assert root.findtext("cap:references", namespaces=NS) == (
        "canhbao@example.vn,VN-VDDMA-20251012-0007,2025-10-12T06:00:00+07:00"
    )
    assert root.findtext("cap:incidents", namespaces=NS) == 'lu-dong-nai-2025 "bao so 7"'


def test_reference_string():
    sent = datetime(2025, 10, 12, 6, tzinfo=VIETNAM_TZ)
    assert reference_string("a@b.vn", "ID-1", sent) == "a@b.vn,ID-1,2025-10-12T06:00:00+07:00"
    assert reference_string("a@b.vn", "ID-1", "2003-06-11T20:30:00-07:00") == "a@b.vn,ID-1,2003-06-11T20:30:00-07:00"


def test_text_is_escaped():
    xml = to_xml(full_message())
    assert b"&amp; \xc4\x91ang l\xc3\xaan &lt;nhanh&gt;." in xml
    assert parse(xml).message.infos[0].description == "Mực nước vượt báo động III & đang lên <nhanh>."


# ----------------------------------------------------------------------------------------------------------------
# validate()

VALID = (SAMPLES / "spec_a2_severe_thunderstorm.xml").read_bytes()


def test_validate_accepts_the_specification_examples():
    for name in (
        "spec_a1_homeland_security",
        "spec_a2_severe_thunderstorm",
        "spec_a3_earthquake",
        "spec_a4_amber_alert",
    ):
        assert validate((SAMPLES / f"{name}.xml").read_bytes()) == [], name


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (b"<status>Actual</status>", b"<status>Real</status>", "Real"),
        (b"2003-06-17T14:57:00-07:00", b"2003-06-17T21:57:00Z", "pattern"),
        (b"2003-06-17T14:57:00-07:00", b"2003-06-17T14:57:00.5-07:00", "pattern"),
        (
            b"<status>Actual</status> \n  <msgType>Alert</msgType>",
            b"<msgType>Alert</msgType><status>Actual</status>",
            "not expected",
        ),
        (b"<category>Met</category>", b"<category>Weather</category>", "Weather"),
        (b"<certainty>Observed</certainty>", b"<certainty>Very Likely</certainty>", "Very Likely"),
        (b"<scope>Public</scope>", b"", "scope"),
        (b"<contact>BARUFFALDI/JUSKIE</contact>", b"<contact>x</contact><colour>red</colour>", "colour"),
    ],
)
def test_validate_reports_schema_errors(old, new, expected):
    assert old in VALID
    errors = validate(VALID.replace(old, new))
    assert errors
    assert any(expected in error for error in errors), errors
    assert all(error.startswith("line ") for error in errors)


def test_validate_reports_documents_that_are_not_xml():
    (error,) = validate(b"<alert><identifier>")
    assert "not well-formed" in error


def test_validate_rejects_older_namespaces():
    errors = validate(VALID.replace(b"cap:1.2", b"cap:1.1"))
    assert errors and "alert" in errors[0]


def test_validate_does_not_expand_entities():
    bomb = b'<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY x SYSTEM "file:///etc/passwd">]><alert>&x;</alert>'
    errors = validate(bomb)
    assert errors
    assert not any("root:" in error for error in errors)
