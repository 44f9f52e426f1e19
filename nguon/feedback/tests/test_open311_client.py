"""A GeoReport v2 client written from the spec talks to a real server over loopback, in JSON and in XML."""

from __future__ import annotations

import pytest

from nguon.feedback.actions import do_accept_feedback, do_approve_answer, do_close_feedback, do_draft_answer
from nguon.feedback.models import Feedback
from nguon.feedback.open311.keys import issue_key
from nguon.feedback.publishing import do_publish_answer
from nguon.feedback.tests.georeport_client import GeoReportClient, GeoReportError
from nguon.feedback.tests.helpers import street_lights

ANSWER = "Đã thay bóng đèn trước số 12 ngày 4/12."


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_whole_round_trip(live_server, cast, fmt, settings):
    street_lights()
    _key, api_key = issue_key("Ứng dụng thử nghiệm")
    client = GeoReportClient(f"{live_server.url}/open311/discovery.{fmt}", fmt=fmt)
    discovery = client.discover()
    assert client.base == f"{live_server.url}/open311" and discovery["changeset"]
    client.jurisdiction_id = settings.OPEN311_JURISDICTION

    services = {s["service_code"]: s for s in client.services()}
    lights = services["den-duong"]
    assert (lights["service_name"], lights["type"], lights["metadata"]) == ("Street lights", "realtime", True)
    definition = client.service_definition("den-duong")
    required = [a for a in definition["attributes"] if a["required"]]
    assert [a["code"] for a in required] == ["commune"]
    commune = next(v["key"] for v in required[0]["values"] if v["name"] == "Phường Biên Hòa")

    created = client.submit(
        api_key,
        "den-duong",
        lat=10.9574,
        long=106.8427,
        address_string="12 Phan Trung, Phường Biên Hòa",
        description="Đèn đường trước số 12 Phan Trung bị hỏng ba ngày nay.",
        first_name="An",
        last_name="Nguyễn Văn",
        phone="0912345678",
        email="an@example.org",
        media_url="https://photos.example.org/den.jpg",
        attributes={"commune": commune, "consent_publish": "true"},
    )
    number = created["service_request_id"]
    assert number.startswith("PA-") and created["service_notice"]
    assert client.token(created["token"])["service_request_id"] == number

    seen = client.request(number)
    assert (seen["status"], seen["description"], seen["status_notes"]) == ("open", None, None)
    assert seen["service_code"] == "den-duong" and seen["address_id"] == commune

    # Staff handle it through the actions: accepted, answered (still open until closed), published, closed.
    feedback = Feedback.objects.get(number=number)
    feedback = do_accept_feedback(feedback, acting_user=cast.commune_editor)
    feedback = do_draft_answer(feedback, acting_user=cast.commune_editor, answer=ANSWER)
    feedback = do_approve_answer(feedback, acting_user=cast.approver)
    seen = client.request(number)
    assert seen["status"] == "open" and seen["expected_datetime"] and seen["status_notes"] is None
    do_publish_answer(
        feedback, acting_user=cast.approver, question="Đèn đường trên đường Phan Trung bị hỏng.", answer=ANSWER
    )
    do_close_feedback(Feedback.objects.get(pk=feedback.pk), acting_user=cast.commune_editor)
    seen = client.request(number)
    assert (seen["status"], seen["status_notes"]) == ("closed", ANSWER)
    assert seen["description"] == "Đèn đường trên đường Phan Trung bị hỏng."
    assert seen["media_url"] == "https://photos.example.org/den.jpg"
    assert (seen["lat"], seen["long"]) == (10.957, 106.843)
    assert seen["updated_datetime"] >= seen["requested_datetime"]

    assert [r["service_request_id"] for r in client.requests(status="closed")] == [number]
    assert client.requests(status="open") == []
    assert [r["service_request_id"] for r in client.requests(service_request_id=[number, "PA-0"])] == [number]

    with pytest.raises(GeoReportError) as refused:
        client.submit("", "den-duong", address_string="x", description="x", attributes={"commune": commune})
    assert refused.value.status == 403 and refused.value.errors[0][0] == "403"
    with pytest.raises(GeoReportError) as missing:
        client.request("PA-1999-000001")
    assert missing.value.status == 404
    with pytest.raises(GeoReportError) as bad:
        client.submit(api_key, "den-duong", lat="x", long="y", description="", attributes={})
    assert bad.value.status == 400 and len(bad.value.errors) == 4
