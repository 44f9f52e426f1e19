"""Parsing CAP: every real sample round-trips, feeds' usual sloppiness is repaired, the dangerous is refused."""

import resource
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.utils import translation

from nguon.alerts.cap import MAX_BYTES, VIETNAM_TZ, CapError, language_of, parse, to_xml, validate

SAMPLES = Path(__file__).with_name("cap_samples")
SAMPLE_FILES = sorted(SAMPLES.glob("*.xml"))

BASE = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>VN-TEST-1</identifier>
  <sender>test@example.vn</sender>
  <sent>2025-10-12T06:00:00+07:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <category>Met</category>
    <event>Flood</event>
    <urgency>Expected</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>
    <expires>2025-10-14T18:00:00+07:00</expires>
    <description>River above alarm level III.</description>
    <area>
      <areaDesc>Biên Hòa</areaDesc>
      <polygon>10.90,106.80 10.90,106.90 11.00,106.90 11.00,106.80 10.90,106.80</polygon>
      <circle>10.95,106.85 5</circle>
    </area>
  </info>
</alert>
"""
POLYGON = "10.90,106.80 10.90,106.90 11.00,106.90 11.00,106.80 10.90,106.80"


def variant(*replacements: str) -> bytes:
    """Return BASE with each (old, new) pair replaced; old must be present so a typo cannot pass silently."""
    text = BASE
    for old, new in zip(replacements[::2], replacements[1::2], strict=True):
        assert old in text, old
        text = text.replace(old, new)
    return text.encode()


def codes(problems):
    return [p.code for p in problems]


# ----------------------------------------------------------------------------------------------------------------
# Real documents


def test_there_is_a_sample_for_every_kind_of_producer():
    names = {path.stem for path in SAMPLE_FILES}
    assert names >= {"spec_a1_homeland_security", "spec_a2_severe_thunderstorm", "spec_a3_earthquake"}
    assert "spec_a4_amber_alert" in names
    assert names >= {"nws_ipaws_beach_hazards", "eccc_special_weather_statement", "metno_forest_fire_meteoalarm"}
    assert "vn_vddma_flood_dong_nai" in names


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.stem)
def test_every_sample_round_trips_through_valid_cap_1_2(path):
    first = parse(path.read_bytes())
    xml = to_xml(first.message)
    assert validate(xml) == []
    second = parse(xml)
    assert second.message == first.message
    # What the first parse repaired is gone from our own output (only the zero-radius circle is kept as written).
    assert set(codes(second.warnings)) <= {"circle_zero_radius"}


def test_the_base_document_parses_without_warnings():
    result = parse(BASE.encode())
    assert result.warnings == []
    message = result.message
    assert message.sent == datetime(2025, 10, 11, 23, 0, tzinfo=UTC)
    assert message.sent.utcoffset() == timedelta(hours=7)
    assert message.infos[0].areas[0].circles == [(10.95, 106.85, 5.0)]


def test_spec_earthquake_update():
    message = parse((SAMPLES / "spec_a3_earthquake.xml").read_bytes()).message
    assert message.msg_type == "Update"
    assert [(r.sender, r.identifier, r.sent) for r in message.references] == [
        ("trinet@caltech.edu", "TRI13970876.1", "2003-06-11T20:30:00-07:00")
    ]
    assert message.infos[0].areas[0].circles == [(32.9525, -115.5527, 0.0)]
    assert ("Magnitude", "3.4 Ml") in message.infos[0].parameters


def test_spec_amber_alert_keeps_both_languages():
    message = parse((SAMPLES / "spec_a4_amber_alert.xml").read_bytes()).message
    assert [info.language for info in message.infos] == ["en-US", "es-US"]
    assert message.infos[1].event == "Abducción de Niño"
    assert message.infos[0].event_codes == [("SAME", "CAE")]
    assert message.source == "SW"


def test_spec_homeland_security_resource_and_default_language():
    info = parse((SAMPLES / "spec_a1_homeland_security.xml").read_bytes()).message.infos[0]
    # No <language>: kept absent (so it is written back so), read as the standard's default.
    assert info.language == "" and language_of(info) == "en-US"
    assert info.resources[0].mime_type == "image/gif"
    assert info.resources[0].uri == "http://www.dhs.gov/dhspublic/getAdvisoryImage"
    assert info.instruction.startswith("A High Condition")  # surrounding whitespace dropped


def test_eccc_document():
    message = parse((SAMPLES / "eccc_special_weather_statement.xml").read_bytes()).message
    assert message.sent == datetime(2019, 10, 20, 19, 56, 43, tzinfo=UTC)
    assert len(message.codes) == 6 and len(message.references) == 1
    assert message.infos[1].description.startswith("D'importantes quantités")  # predefined entities are fine
    assert [len(area.polygons[0]) for area in message.infos[0].areas] == [19, 30, 9]


def test_vietnamese_flood_alert():
    message = parse((SAMPLES / "vn_vddma_flood_dong_nai.xml").read_bytes()).message
    vi, en = message.infos
    assert (vi.language, en.language) == ("vi-VN", "en-US")
    assert vi.event == "Lũ, ngập lụt"
    assert vi.response_types == ["Evacuate", "Prepare"]
    assert vi.expires == datetime(2025, 10, 14, 18, tzinfo=VIETNAM_TZ)
    area = vi.areas[0]
    assert [code for name, code in area.geocodes if name == "VN-commune"] == [
        "26170",
        "26179",
        "26188",
        "25993",
        "26041",
        "26068",
    ]
    ring = area.polygons[0]
    assert ring[0] == ring[-1] and all(10.9 <= lat <= 11.3 and 106.8 <= lon <= 107.3 for lat, lon in ring)


# ----------------------------------------------------------------------------------------------------------------
# Lenient: repaired with a warning


LENIENT = {
    "cap_1_1_namespace": (
        variant("cap:1.2", "cap:1.1"),
        "old_version",
        lambda m: m.identifier == "VN-TEST-1",
    ),
    "cap_1_0_namespace": (
        variant("urn:oasis:names:tc:emergency:cap:1.2", "http://www.incident.com/cap/1.0"),
        "old_version",
        lambda m: m.status == "Actual",
    ),
    "no_namespace": (
        variant(' xmlns="urn:oasis:names:tc:emergency:cap:1.2"', ""),
        "no_namespace",
        lambda m: m.infos[0].event == "Flood",
    ),
    "elements_out_of_order": (
        variant(
            "<urgency>Expected</urgency>\n    <severity>Severe</severity>",
            "<severity>Severe</severity>\n    <urgency>Expected</urgency>",
        ),
        "out_of_order",
        lambda m: (m.infos[0].urgency, m.infos[0].severity) == ("Expected", "Severe"),
    ),
    "unknown_element": (
        variant("<scope>Public</scope>", "<scope>Public</scope><priority>high</priority>"),
        "unknown_element",
        lambda m: m.scope == "Public",
    ),
    "foreign_namespace_element": (
        variant("<event>Flood</event>", '<event>Flood</event><x:colour xmlns:x="urn:example">red</x:colour>'),
        "unknown_element",
        lambda m: m.infos[0].event == "Flood",
    ),
    "sent_without_zone": (
        variant("<sent>2025-10-12T06:00:00+07:00</sent>", "<sent>2025-10-12T06:00:00</sent>"),
        "time_without_zone",
        lambda m: m.sent == datetime(2025, 10, 12, 6, tzinfo=VIETNAM_TZ) and m.sent.utcoffset() == timedelta(hours=7),
    ),
    "sent_with_z": (
        variant("<sent>2025-10-12T06:00:00+07:00</sent>", "<sent>2025-10-11T23:00:00Z</sent>"),
        "time_format",
        lambda m: m.sent == datetime(2025, 10, 12, 6, tzinfo=VIETNAM_TZ) and m.sent.utcoffset() == timedelta(0),
    ),
    "fractional_seconds": (
        variant("2025-10-14T18:00:00+07:00", "2025-10-14T18:00:00.750+07:00"),
        "time_format",
        lambda m: m.infos[0].expires == datetime(2025, 10, 14, 18, tzinfo=VIETNAM_TZ),
    ),
    "offset_without_colon": (
        variant("<sent>2025-10-12T06:00:00+07:00</sent>", "<sent>2025-10-12T06:00:00+0700</sent>"),
        "time_format",
        lambda m: m.sent == datetime(2025, 10, 12, 6, tzinfo=VIETNAM_TZ),
    ),
    "unknown_urgency": (
        variant("<urgency>Expected</urgency>", "<urgency>Soon</urgency>"),
        "unknown_value",
        lambda m: m.infos[0].urgency == "Unknown",
    ),
    "unknown_severity": (
        variant("<severity>Severe</severity>", "<severity>Red</severity>"),
        "unknown_value",
        lambda m: m.infos[0].severity == "Unknown",
    ),
    "unknown_certainty": (
        variant("<certainty>Likely</certainty>", "<certainty>Sure</certainty>"),
        "unknown_value",
        lambda m: m.infos[0].certainty == "Unknown",
    ),
    "deprecated_very_likely": (
        variant("<certainty>Likely</certainty>", "<certainty>Very Likely</certainty>"),
        "deprecated_value",
        lambda m: m.infos[0].certainty == "Likely",
    ),
    "unknown_category": (
        variant("<category>Met</category>", "<category>Weather</category>"),
        "unknown_value",
        lambda m: m.infos[0].categories == ["Other"],
    ),
    "wrong_case": (
        variant("<status>Actual</status>", "<status>actual</status>"),
        "value_spelling",
        lambda m: m.status == "Actual",
    ),
    "polygon_not_closed": (
        variant(POLYGON, "10.90,106.80 10.90,106.90 11.00,106.90 11.00,106.80"),
        "polygon_not_closed",
        lambda m: (
            m.infos[0].areas[0].polygons[0] == [(10.9, 106.8), (10.9, 106.9), (11, 106.9), (11, 106.8), (10.9, 106.8)]
        ),
    ),
    "polygon_self_crossing": (
        variant(POLYGON, "10.90,106.80 11.00,106.90 10.90,106.90 11.00,106.80 10.90,106.80"),
        "polygon_self_crossing",
        lambda m: len(m.infos[0].areas[0].polygons) == 1,
    ),
    "circle_zero_radius": (
        variant("10.95,106.85 5", "10.95,106.85 0"),
        "circle_zero_radius",
        lambda m: m.infos[0].areas[0].circles == [(10.95, 106.85, 0.0)],
    ),
    "missing_scope": (
        variant("<scope>Public</scope>", ""),
        "missing_element",
        lambda m: m.scope == "Public",
    ),
    "missing_urgency": (
        variant("<urgency>Expected</urgency>", ""),
        "missing_element",
        lambda m: m.infos[0].urgency == "Unknown",
    ),
    "missing_category": (
        variant("<category>Met</category>", ""),
        "missing_element",
        lambda m: m.infos[0].categories == ["Other"],
    ),
    "empty_polygon": (
        variant(POLYGON, ""),
        "empty_element",
        lambda m: m.infos[0].areas[0].polygons == [] and len(m.infos[0].areas[0].circles) == 1,
    ),
    "duplicate_singleton": (
        variant("<event>Flood</event>", "<event>Flood</event><event>Fire</event>"),
        "duplicate_element",
        lambda m: m.infos[0].event == "Flood",
    ),
    "unknown_response_type": (
        variant("<event>Flood</event>", "<event>Flood</event><responseType>Run</responseType>"),
        "unknown_value",
        lambda m: m.infos[0].response_types == [],
    ),
}


@pytest.mark.parametrize(("data", "warning", "check"), LENIENT.values(), ids=LENIENT.keys())
def test_lenient_cases_give_a_usable_message_and_a_warning(data, warning, check):
    result = parse(data)
    assert warning in codes(result.warnings)
    assert check(result.message)
    assert validate(to_xml(result.message)) == []


def test_whitespace_and_optional_fields_need_no_warning():
    data = variant(
        "<identifier>VN-TEST-1</identifier>",
        "<identifier>\n    VN-TEST-1\n  </identifier>",
        "<status>Actual</status>",
        "<status> Actual </status>",
        POLYGON,
        "10.90, 106.80  10.90, 106.90\n 11.00,106.90 11.00,106.80 10.90,106.80",
        "<expires>2025-10-14T18:00:00+07:00</expires>",
        "",
        "<description>River above alarm level III.</description>",
        "",
    )
    result = parse(data)
    assert result.warnings == []
    info = result.message.infos[0]
    assert (result.message.identifier, result.message.status) == ("VN-TEST-1", "Actual")
    assert info.expires is None and info.description == ""
    assert info.areas[0].polygons[0][:2] == [(10.9, 106.8), (10.9, 106.9)]


def test_warnings_carry_a_path_and_a_readable_text():
    result = parse(variant("<severity>Severe</severity>", "<severity>Red</severity>"))
    (warning,) = result.warnings
    assert warning.path == "alert/info[1]/severity"
    assert warning.params == {"element": "severity", "value": "Red", "replacement": "Unknown"}
    with translation.override("en"):
        assert warning.text() == "The severity value Red is not in the standard; Unknown was used."
    with translation.override("vi"):
        assert warning.text() == "Giá trị Red của severity không có trong tiêu chuẩn; đã dùng Unknown."
    assert "%(" in warning.message  # the msgid keeps its placeholders for translators


# ----------------------------------------------------------------------------------------------------------------
# Rejected


REJECTED = {
    "not_xml": (b"this is not XML", "not_xml"),
    "not_well_formed": (b"<alert><identifier>x</alert>", "not_xml"),
    "empty": (b"", "not_xml"),
    "root_not_alert": (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>', "not_cap"),
    "missing_identifier": (variant("<identifier>VN-TEST-1</identifier>", ""), "missing_element"),
    "missing_sender": (variant("<sender>test@example.vn</sender>", ""), "missing_element"),
    "missing_sent": (variant("<sent>2025-10-12T06:00:00+07:00</sent>", ""), "missing_element"),
    "missing_status": (variant("<status>Actual</status>", ""), "missing_element"),
    "missing_msg_type": (variant("<msgType>Alert</msgType>", ""), "missing_element"),
    "invalid_status": (variant("<status>Actual</status>", "<status>Real</status>"), "invalid_status"),
    "invalid_msg_type": (variant("<msgType>Alert</msgType>", "<msgType>Warning</msgType>"), "invalid_msg_type"),
    "invalid_scope": (variant("<scope>Public</scope>", "<scope>Everyone</scope>"), "invalid_scope"),
    "invalid_sent": (variant("2025-10-12T06:00:00+07:00", "yesterday"), "invalid_time"),
    "impossible_sent": (variant("2025-10-12T06:00:00+07:00", "2025-02-30T06:00:00+07:00"), "invalid_time"),
    "identifier_with_space": (variant(">VN-TEST-1<", ">VN TEST 1<"), "invalid_identifier"),
    "identifier_with_comma": (variant(">VN-TEST-1<", ">VN,TEST-1<"), "invalid_identifier"),
    "identifier_with_lt": (variant(">VN-TEST-1<", ">VN&lt;TEST-1<"), "invalid_identifier"),
    "sender_with_ampersand": (variant("test@example.vn", "a&amp;b@example.vn"), "invalid_sender"),
    "polygon_too_few_points": (variant(POLYGON, "10.90,106.80 10.90,106.90 10.90,106.80"), "polygon_too_few_points"),
    "polygon_not_numbers": (variant(POLYGON, "10.90,106.80 10.90,abc 11.00,106.90 10.90,106.80"), "invalid_polygon"),
    "polygon_missing_lon": (variant(POLYGON, "10.90 106.80 10.90 106.90 11.00 106.90 10.90 106.80"), "invalid_polygon"),
    "polygon_nan": (variant(POLYGON, "10.90,106.80 nan,106.90 11.00,106.90 10.90,106.80"), "invalid_polygon"),
    "latitude_out_of_range": (
        variant(POLYGON, "10.90,106.80 90.5,106.90 11.00,106.90 10.90,106.80"),
        "coordinate_out_of_range",
    ),
    "longitude_out_of_range": (
        variant(POLYGON, "10.90,106.80 10.90,181 11.00,106.90 10.90,106.80"),
        "coordinate_out_of_range",
    ),
    "polygon_enormous": (
        variant(POLYGON, "8,102 8,110 23,110 23,102 8,102"),
        "area_too_large",
    ),
    "circle_without_comma": (variant("10.95,106.85 5", "10.95 106.85 5"), "invalid_circle"),
    "circle_without_radius": (variant("10.95,106.85 5", "10.95,106.85"), "invalid_circle"),
    "circle_negative_radius": (variant("10.95,106.85 5", "10.95,106.85 -1"), "invalid_circle"),
    "circle_out_of_range": (variant("10.95,106.85 5", "10.95,196.85 5"), "coordinate_out_of_range"),
    "circle_enormous": (variant("10.95,106.85 5", "10.95,106.85 500"), "area_too_large"),
    "update_without_references": (
        variant("<msgType>Alert</msgType>", "<msgType>Update</msgType>"),
        "missing_references",
    ),
    "cancel_without_references": (
        variant("<msgType>Alert</msgType>", "<msgType>Cancel</msgType>"),
        "missing_references",
    ),
    "bad_reference": (
        variant("<scope>Public</scope>", "<scope>Public</scope><references>test@example.vn,VN-TEST-0</references>"),
        "invalid_references",
    ),
}


@pytest.mark.parametrize(("data", "code"), REJECTED.values(), ids=REJECTED.keys())
def test_rejected_documents_raise_cap_error_with_the_code(data, code):
    with pytest.raises(CapError) as caught:
        parse(data)
    assert code in caught.value.codes


def test_update_with_references_is_accepted():
    data = variant(
        "<msgType>Alert</msgType>",
        "<msgType>Cancel</msgType>",
        "<scope>Public</scope>",
        "<scope>Public</scope><references>test@example.vn,VN-TEST-0,2025-10-12T05:00:00+07:00</references>",
    )
    message = parse(data).message
    assert message.msg_type == "Cancel"
    assert message.references[0].identifier == "VN-TEST-0"


def test_every_rejection_is_reported_at_once_with_its_path():
    data = variant(
        "<identifier>VN-TEST-1</identifier>",
        "",
        "<status>Actual</status>",
        "<status>Real</status>",
        "10.95,106.85 5",
        "10.95,106.85 -5",
    )
    with pytest.raises(CapError) as caught:
        parse(data)
    problems = {p.code: p for p in caught.value.problems}
    assert set(problems) == {"missing_element", "invalid_status", "invalid_circle"}
    assert problems["missing_element"].path == "alert/identifier"
    assert problems["invalid_circle"].path == "alert/info[1]/area[1]/circle[1]"
    assert "Real" in problems["invalid_status"].text()
    assert "Real" in str(caught.value)


# ----------------------------------------------------------------------------------------------------------------
# Hostile input

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE alert [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol9;</identifier></alert>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>x</identifier><sender>s</sender><sent>2025-10-12T06:00:00+07:00</sent>
  <status>Actual</status><msgType>Alert</msgType><scope>Public</scope><note>&xxe;</note>
</alert>
"""


def test_billion_laughs_is_refused_without_expansion():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(CapError) as caught:
        parse(BILLION_LAUGHS)
    assert caught.value.codes == ["forbidden_xml"]
    # Expanded, &lol9; is 3 GB of text; refused at the DTD, memory does not move (ru_maxrss is in KiB on Linux).
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024


def test_external_entity_is_refused_without_reading_the_file():
    with pytest.raises(CapError) as caught:
        parse(EXTERNAL_ENTITY)
    assert caught.value.codes == ["forbidden_xml"]
    assert "root:" not in str(caught.value)


def test_any_doctype_is_refused():
    data = BASE.replace("<alert", "<!DOCTYPE alert>\n<alert", 1).encode()
    with pytest.raises(CapError) as caught:
        parse(data)
    assert caught.value.codes == ["forbidden_xml"]


def test_oversized_input_is_refused_before_parsing():
    data = BASE.replace("</alert>", "<!--" + "x" * MAX_BYTES + "--></alert>").encode()
    with pytest.raises(CapError) as caught:
        parse(data)
    assert caught.value.codes == ["too_large"]
    assert caught.value.problems[0].params["limit"] == 2 * 1024 * 1024
    # Just under the limit is parsed normally.
    assert parse(BASE.encode() + b" " * (MAX_BYTES - len(BASE.encode()))).message.identifier == "VN-TEST-1"


def test_text_input_is_accepted_like_bytes():
    assert parse(BASE).message == parse(BASE.encode()).message


def test_other_time_zones_are_kept():
    message = parse(variant("2025-10-12T06:00:00+07:00", "2025-10-12T01:00:00+02:00")).message
    assert message.sent.utcoffset() == timedelta(hours=2)
    assert message.sent == datetime(2025, 10, 11, 23, 0, tzinfo=UTC)
