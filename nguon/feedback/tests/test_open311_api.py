"""Open311 GeoReport v2 through its URLs: the documents, submission, every refusal, and no personal data out."""

from __future__ import annotations

import json
import random

import pytest
from defusedxml import ElementTree
from django.test import Client, override_settings

from nguon.audit.models import AuditEvent
from nguon.feedback.models import Channel, Event, Feedback, Status
from nguon.feedback.open311.keys import issue_key
from nguon.feedback.publishing import do_publish_answer
from nguon.feedback.tests.helpers import answered, street_lights, submit

pytestmark = pytest.mark.django_db

XML = "text/xml; charset=utf-8"
JSON = "application/json; charset=utf-8"


@pytest.fixture
def api():
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def key(cast):
    street_lights()
    return issue_key("Ứng dụng Đồng Nai", contact="it@example.org")[1]


def form(key, **extra):
    data = {
        "api_key": key,
        "service_code": "den-duong",
        "lat": "10.9574",
        "long": "106.8427",
        "address_string": "12 Phan Trung",
        "attribute[commune]": "26068",
        "description": "Đèn đường trước số 12 Phan Trung bị hỏng ba ngày nay.",
        "first_name": "An",
        "last_name": "Nguyễn Văn",
        "phone": "0912 345 678",
        "email": "an@example.org",
        "media_url": "https://photos.example.org/den.jpg",
        "device_id": "device-1",
    }
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def xml(response):
    assert response["Content-Type"] == XML
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ElementTree.fromstring(response.content)


def error_descriptions(response, fmt="json"):
    if fmt == "json":
        assert response["Content-Type"] == JSON
        body = json.loads(response.content)
        assert all(item["code"] == response.status_code for item in body)
        return [item["description"] for item in body]
    root = xml(response)
    assert root.tag == "errors"
    assert all(e.findtext("code") == str(response.status_code) for e in root.findall("error"))
    return [e.findtext("description") for e in root.findall("error")]


def test_discovery_in_both_formats(api, cast):
    body = api.get("/open311/discovery.json").json()
    assert set(body) == {"changeset", "contact", "key_service", "endpoints"}
    (endpoint,) = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311"
    assert endpoint["type"] == "production" and endpoint["formats"] == ["text/xml", "application/json"]
    root = xml(api.get("/open311/discovery.xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.find("endpoints/endpoint/formats")] == ["text/xml", "application/json"]
    assert root.findtext("endpoints/endpoint/url") == "http://testserver/open311"


def test_services_and_their_definition(api, cast):
    street_lights()
    services = api.get("/open311/services.json").json()
    lights = next(s for s in services if s["service_code"] == "den-duong")
    assert lights == {
        "service_code": "den-duong",
        "service_name": "Street lights",
        "description": None,
        "metadata": True,
        "type": "realtime",
        "keywords": "đèn, chiếu sáng, bóng đèn",
        "group": None,
    }
    root = xml(api.get("/open311/services.xml", HTTP_ACCEPT_LANGUAGE="vi"))
    assert root.tag == "services"
    first = root.find("service")
    assert first.findtext("service_name") == "Đèn đường, chiếu sáng công cộng"
    assert first.findtext("metadata") == "true" and first.find("group").text is None

    definition = api.get("/open311/services/den-duong.json").json()
    assert definition["service_code"] == "den-duong"
    commune, consent = definition["attributes"]
    assert (commune["code"], commune["required"], commune["datatype"], commune["order"]) == (
        "commune", True, "singlevaluelist", 1,
    )  # fmt: skip
    # Only communes and wards: the province is not one.
    assert {v["key"] for v in commune["values"]} == {"26068", "26041"}
    assert (consent["code"], consent["required"]) == ("consent_publish", False)
    root = xml(api.get("/open311/services/den-duong.xml"))
    assert root.tag == "service_definition"
    assert [v.findtext("key") for v in root.findall("attributes/attribute/values/value")][:2] == ["26041", "26068"]

    for fmt in ("json", "xml"):
        response = api.get(f"/open311/services/khong-co.{fmt}")
        assert response.status_code == 404
        assert "khong-co" in error_descriptions(response, fmt)[0]


def test_a_partner_submits_a_request(api, cast, key, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/open311/requests.json", form(key))
    assert response.status_code == 200, response.content
    (body,) = response.json()
    assert set(body) == {"service_request_id", "token", "service_notice", "account_id"}
    feedback = Feedback.objects.get(number=body["service_request_id"])
    assert (feedback.channel, feedback.unit, feedback.status) == (Channel.OPEN311, cast.commune, Status.RECEIVED)
    assert (feedback.name, feedback.phone, feedback.email) == ("Nguyễn Văn An", "0912 345 678", "an@example.org")
    assert (feedback.latitude, feedback.longitude, feedback.address) == (10.9574, 106.8427, "12 Phan Trung")
    assert feedback.api_key.name == "Ứng dụng Đồng Nai" and feedback.consent_publish is False
    assert "Phường Biên Hòa" in body["service_notice"] and "5 working days" in body["service_notice"]
    # What has no field is kept as text in the first history row; the media link is never fetched.
    event = Event.objects.get(feedback=feedback, action="submit")
    assert event.data["media_url"] == "https://photos.example.org/den.jpg" and event.data["device_id"] == "device-1"
    assert event.actor_label == "open311:Ứng dụng Đồng Nai"
    audit = AuditEvent.objects.get(action="feedback.submitted", object_id=str(feedback.pk))
    assert audit.actor_label == "open311:Ứng dụng Đồng Nai"
    # The XML answer has the spec's shape too, and a token that resolves to the same number.
    root = xml(api.post("/open311/requests.xml", form(key, **{"attribute[consent_publish]": "true"})))
    assert root.tag == "service_requests" and root.find("request/service_request_id").text.startswith("PA-")
    token = root.findtext("request/token")
    resolved = xml(api.get(f"/open311/tokens/{token}.xml")).find("request")
    assert resolved.findtext("service_request_id") == root.findtext("request/service_request_id")
    assert resolved.findtext("token") == token
    assert Feedback.objects.get(number=resolved.findtext("service_request_id")).consent_publish is True


@pytest.mark.parametrize(
    ("changes", "status", "says"),
    [
        ({"api_key": None}, 403, "api_key was not provided"),
        ({"api_key": "o311_0123456789_wrong"}, 403, "Invalid api_key"),
        ({"api_key": "x" * 5000}, 403, "Invalid api_key"),
        ({"service_code": None}, 400, "service_code was not provided"),
        ({"service_code": "khong-co"}, 404, "service_code khong-co was not found"),
        ({"description": "   "}, 400, "description: describe the problem"),
        ({"description": "x" * 4001}, 400, "at most 4,000 characters"),
        ({"description": "Đèn hỏng \x00\x07"}, 400, "description"),
        ({"description": "<script>alert(1)</script>"}, 400, "description"),
        ({"lat": "abc"}, 400, "lat must be a number"),
        ({"lat": "95"}, 400, "lat must be a number"),
        ({"long": "nan"}, 400, "long must be a number"),
        ({"long": "inf"}, 400, "long must be a number"),
        ({"long": None}, 400, "lat and long must be sent together"),
        ({"lat": None, "long": None, "address_string": None}, 400, "A location is needed"),
        ({"attribute[commune]": None}, 400, "attribute[commune] was not provided"),
        ({"attribute[commune]": "75"}, 400, "is not a commune or ward here"),
        ({"attribute[consent_publish]": "maybe"}, 400, "must be true or false"),
        ({"media_url": "file:///etc/passwd"}, 400, "media_url must be an http or https address"),
        ({"media_url": "http://user:pw@10.0.0.1/"}, 400, "media_url must be"),
        ({"email": "not-an-address"}, 400, "email: Enter a valid e-mail address"),
        ({"phone": "call me"}, 400, "phone:"),
        ({"jurisdiction_id": "hanoi.gov.vn"}, 404, "jurisdiction_id hanoi.gov.vn was not found"),
    ],
)
def test_bad_submissions_get_the_spec_error_list(api, cast, key, changes, status, says):
    for fmt in ("json", "xml"):
        response = api.post(f"/open311/requests.{fmt}", form(key, **changes))
        assert response.status_code == status, response.content
        assert any(says in d for d in error_descriptions(response, fmt)), error_descriptions(response, fmt)
    assert not Feedback.objects.exists()


def test_every_problem_at_once_and_in_vietnamese(cast, key):
    client = Client(HTTP_ACCEPT_LANGUAGE="vi")
    response = client.post("/open311/requests.json", form(key, lat="abc", description="", media_url="ftp://x"))
    assert response.status_code == 400
    messages = error_descriptions(response)
    assert len(messages) == 3
    assert any("lat phải là một số" in m for m in messages), messages


def test_our_jurisdiction_is_accepted(api, cast, key, settings):
    response = api.post("/open311/requests.json", form(key, jurisdiction_id=settings.OPEN311_JURISDICTION))
    assert response.status_code == 200
    assert api.get(f"/open311/services.json?jurisdiction_id={settings.OPEN311_JURISDICTION}").status_code == 200
    assert api.get("/open311/services.json?jurisdiction_id=other.example").status_code == 404


def test_key_scope_and_read_only_keys(api, cast):
    street_lights()
    _scoped, scoped = issue_key("Ứng dụng phường Trấn Biên", unit=cast.other_commune)
    _reader, reader = issue_key("Bảng điều khiển", can_submit=False)
    response = api.post("/open311/requests.json", form(scoped))
    assert response.status_code == 403 and "may only submit feedback about" in error_descriptions(response)[0]
    assert api.post("/open311/requests.json", form(scoped, **{"attribute[commune]": "26041"})).status_code == 200
    response = api.post("/open311/requests.xml", form(reader))
    assert response.status_code == 403 and "may read but not submit" in error_descriptions(response, "xml")[0]
    assert Feedback.objects.count() == 1


@override_settings(FEEDBACK_RATE_PER_HOUR=1)
def test_the_rate_limit_per_key(api, cast, key):
    _other, other = issue_key("Another partner")
    for _ in range(10):
        assert api.post("/open311/requests.json", form(key, description="")).status_code == 400
    response = api.post("/open311/requests.xml", form(key))
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600
    assert "Too many requests" in error_descriptions(response, "xml")[0]
    # Another key has its own allowance.
    assert api.post("/open311/requests.json", form(other)).status_code == 200


def test_form_encoding_is_required_and_odd_requests_never_fail(api, cast, key):
    response = api.post("/open311/requests.json", json.dumps(form(key)), content_type="application/json")
    assert response.status_code == 400 and "form-encoded" in error_descriptions(response)[0]
    paths = [
        "/open311/discovery.xml",
        "/open311/services.json",
        "/open311/services/den-duong.xml",
        "/open311/requests.json",
        "/open311/requests/PA-2026-000001.xml",
        "/open311/tokens/abc.json",
    ]
    for path in paths:
        for method in ("put", "patch", "delete", "options"):
            response = getattr(api, method)(path)
            assert response.status_code == 405, (method, path)
            assert "GET" in response["Allow"]
        assert api.head(path).status_code in (200, 404)
        assert api.get(path, {"jurisdiction_id": "\x00", "status": "%ff"}).status_code in (400, 404)
    for path in ("/open311/", "/open311/services.html", "/open311/requests/a/b.json", "/open311/x.json"):
        response = api.get(path)
        assert response.status_code == 404
        error_descriptions(response, "json" if path.endswith(".json") else "xml")
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000):
        response = api.post("/open311/requests.json", form(key, description="x" * 5000))
    assert response.status_code == 413
    with override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=5):
        assert api.post("/open311/requests.json", form(key)).status_code == 400
    response = api.post(
        "/open311/requests.xml", b"\xff\xfe\x00garbage", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 403
    assert api.get("/open311/tokens/.json").status_code == 404


def test_reading_shows_no_personal_data(api, cast, key):
    secret_text = "Nhà tôi ở số 12 Phan Trung, gọi 0912 345 678"
    response = api.post("/open311/requests.json", form(key, description=secret_text))
    number = response.json()[0]["service_request_id"]
    published, _code = answered(cast)
    do_publish_answer(
        published,
        acting_user=cast.approver,
        question="Đèn đường trên đường Phan Trung bị hỏng.",
        answer="Đã thay bóng đèn ngày 4/12.",
    )
    refused, _code = submit(cast, text="Quảng cáo bán hàng")
    from nguon.feedback.actions import do_refuse_feedback

    do_refuse_feedback(refused, acting_user=cast.commune_editor, reason="spam")
    for fmt in ("json", "xml"):
        body = api.get(f"/open311/requests.{fmt}").content.decode()
        for private in ("Nguyễn", "0912", "an@example.org", "Phan Trung, gọi", "12 Phan Trung", "10.9574", "Nhà tôi"):
            assert private not in body.replace("Phan Trung bị hỏng", ""), (fmt, private)
    items = {item["service_request_id"]: item for item in api.get("/open311/requests.json").json()}
    assert set(items) == {number, published.number, refused.number}
    fresh, done, spam = items[number], items[published.number], items[refused.number]
    assert (fresh["status"], fresh["description"], fresh["status_notes"], fresh["lat"]) == ("open", None, None, None)
    assert (fresh["address"], fresh["address_id"], fresh["agency_responsible"]) == (
        "Phường Biên Hòa",
        "26068",
        "Phường Biên Hòa",
    )
    assert fresh["requested_datetime"].endswith("+07:00") and fresh["media_url"] is None
    assert done["status"] == "open" and done["description"] == "Đèn đường trên đường Phan Trung bị hỏng."
    assert done["status_notes"] == "Đã thay bóng đèn ngày 4/12." and done["expected_datetime"]
    assert (spam["status"], spam["status_notes"], spam["expected_datetime"]) == ("closed", "Spam or abuse", None)
    root = xml(api.get(f"/open311/requests/{number}.xml"))
    (request,) = root.findall("request")
    assert request.findtext("status") == "open" and request.find("description").text is None
    response = api.get("/open311/requests/PA-1999-000001.json")
    assert response.status_code == 404 and "PA-1999-000001" in error_descriptions(response)[0]


def test_request_filters(api, cast, key):
    first = api.post("/open311/requests.json", form(key)).json()[0]["service_request_id"]
    second, _ = submit(cast, topic=street_lights())
    other, _ = answered(cast)
    from nguon.feedback.actions import do_close_feedback

    do_close_feedback(other, acting_user=cast.commune_editor)

    def numbers(**query):
        response = api.get("/open311/requests.json", query)
        assert response.status_code == 200, response.content
        return {item["service_request_id"] for item in response.json()}

    assert numbers(service_request_id=f"{first}, {other.number},PA-0") == {first, other.number}
    assert numbers(status="closed") == {other.number}
    assert numbers(status="open") == {first, second.number}
    assert numbers(status="open,closed") == {first, second.number, other.number}
    assert numbers(service_code="rac-thai") == set()
    assert numbers(service_code="rac-thai,den-duong") == {first, second.number, other.number}
    assert numbers(start_date="2000-01-01T00:00:00Z") == set()
    assert numbers(end_date="2000-01-01T00:00:00+07:00") == set()
    for query, says in [
        ({"status": "pending"}, "status must be open or closed"),
        ({"start_date": "2026-01-01"}, "start_date must be a W3C date-time"),
        ({"start_date": "2026-01-01T00:00:00"}, "start_date must be a W3C date-time"),
        ({"end_date": "yesterday"}, "end_date must be"),
        ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}, "more than 90 days"),
        ({"start_date": "2026-06-01T00:00:00Z", "end_date": "2026-05-01T00:00:00Z"}, "before start_date"),
        ({"end_date": "0001-01-01T00:00:00Z"}, "end_date must be"),
        ({"start_date": "9999-12-31T23:59:59+07:00"}, "start_date must be"),
        ({"start_date": "2026-01-01T00:00:00+25:00"}, "start_date must be"),
    ]:
        response = api.get("/open311/requests.xml", query)
        assert response.status_code == 400 and says in error_descriptions(response, "xml")[0]


def test_queries_do_not_grow_with_the_list(api, cast, key, django_assert_max_num_queries):
    for _ in range(5):
        submit(cast)
    with django_assert_max_num_queries(4):
        assert len(api.get("/open311/requests.json").json()) == 5


FUZZ_NAMES = [
    "api_key", "service_code", "lat", "long", "address_string", "address_id", "description", "first_name",
    "last_name", "phone", "email", "media_url", "device_id", "account_id", "jurisdiction_id", "attribute[commune]",
    "attribute[consent_publish]", "status", "start_date", "end_date", "service_request_id",
]  # fmt: skip
FUZZ_VALUES = [
    "", " ", "\x00", "ĐĐ" * 3000, "1e309", "-0", "NaN", "26068", "den-duong", "http://[::1]:80/", "http://",
    "2026-01-01T00:00:00+25:00", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "open,closed,", ",,,", "<x/>",
    "]]>", "%", "PA-2026-000001", "true",
]  # fmt: skip


def test_random_arguments_never_cause_a_server_error(cast, key):
    rnd = random.Random(7)
    client = Client()
    paths = ["requests.json", "requests.xml", "services.json", "services/den-duong.xml", "tokens/x.json"]
    for _ in range(300):
        data = {n: rnd.choice(FUZZ_VALUES) for n in rnd.sample(FUZZ_NAMES, rnd.randint(0, len(FUZZ_NAMES)))}
        if rnd.random() < 0.5:
            data["api_key"] = key
        path = "/open311/" + rnd.choice(paths)
        response = client.post(path, data) if rnd.random() < 0.5 else client.get(path, data)
        assert response.status_code < 500, (path, data)
        assert response["Content-Type"] in (XML, JSON)
