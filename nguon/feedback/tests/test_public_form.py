import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from nguon.feedback.actions import FeedbackData, do_submit_feedback
from nguon.feedback.models import Attachment, Event, Feedback
from nguon.feedback.tests.helpers import street_lights, submit
from nguon.feedback.tests.public import FORM, challenge, english, form_data, jpeg  # noqa: F401

pytestmark = pytest.mark.django_db


def test_form_in_vietnamese_with_the_commune_from_the_qr_code(client, cast):
    page = client.get(f"{FORM}?xa={cast.commune.code}")
    body = page.content.decode()
    assert page.status_code == 200 and '<html lang="vi"' in body
    assert "Gửi phản ánh" in body
    assert f'<option value="{cast.commune.code}" selected>' in body
    chosen = re.compile(r'<option value="\d+" selected>')
    # Only current commune-level units, never the province.
    assert f'value="{cast.province.code}"' not in body and f'value="{cast.other_commune.code}"' in body
    # Without a code, or with one that is not a commune, nothing is chosen.
    for query in ("", f"?xa={cast.province.code}", "?xa=nope"):
        assert not chosen.search(client.get(FORM + query).content.decode())
    assert page["Cache-Control"] == "no-store"


def test_a_citizen_sends_feedback_with_a_photo(client, cast, django_capture_on_commit_callbacks):
    data = form_data(client, cast, files=[jpeg(), jpeg("second.jpg")])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(FORM, data)
    body = response.content.decode()
    assert response.status_code == 200, body
    feedback = Feedback.objects.get()
    assert feedback.number in body and feedback.unit == cast.commune and feedback.consent_publish
    code = body.split('id="fb-code" class="fb-code" value="')[1].split('"')[0]
    assert feedback.matches_code(code)
    assert "thư điện tử" in body  # "we also e-mailed it"
    assert f"/phan-anh/tra-cuu/?ma={code}" in body
    assert feedback.source_ip == "127.0.0.1" and feedback.language == "vi"
    assert Attachment.objects.filter(feedback=feedback, kind="image", mime_type="image/jpeg").count() == 2
    assert len(mail.outbox) == 1 and code in mail.outbox[0].body
    assert response["Referrer-Policy"] == "strict-origin"


def test_every_bad_field_is_named_and_nothing_is_saved(client, cast):
    data = form_data(
        client,
        cast,
        topic="",
        unit="",
        text="",
        phone="abc",
        email="not-mail",
        latitude="91",
        longitude="x",
        title="t" * 201,
        files=[jpeg()],
    )
    response = client.post(FORM, data)
    body = response.content.decode()
    assert response.status_code == 400
    for message in (
        "Chọn lĩnh vực trong danh sách.",
        "Nhập một số từ -90 đến 90.",
        "Chọn xã, phường nơi xảy ra sự việc.",
        "Hãy mô tả nội dung bạn muốn phản ánh.",
        "Nhập địa chỉ thư điện tử hợp lệ.",
        "Nhập kinh độ dưới dạng số",
        "Tối đa 200 ký tự (hiện có 201)",
        "chọn lại ảnh hoặc đoạn ghi",
    ):
        assert message in body, message
    assert not Feedback.objects.exists()
    # The phone number is checked by the action once the form itself is valid.
    response = client.post(FORM, form_data(client, cast, phone="abc"))
    assert response.status_code == 400 and "Nhập số điện thoại từ 8 đến 15 chữ số." in response.content.decode()
    assert not Feedback.objects.exists()


def test_enormous_text_is_refused(client, cast):
    response = client.post(FORM, form_data(client, cast, text="phản ánh " * 1000))
    assert response.status_code == 400 and "Tối đa 5000 ký tự (hiện có 8999)" in response.content.decode()
    assert not Feedback.objects.exists()


def test_markup_is_stripped_and_everything_is_shown_escaped(client, cast):
    response = client.post(
        FORM,
        form_data(client, cast, title="<b>x</b>", text="<script>alert(1)</script> Cống <i>bị</i> tắc ở hẻm 5"),
    )
    assert response.status_code == 200
    feedback = Feedback.objects.get()
    assert "<" not in feedback.text and "Cống bị tắc ở hẻm 5" in feedback.text
    # A refused form shows what was typed, escaped.
    response = client.post(FORM, form_data(client, cast, unit="", address='"><script>alert(2)</script>'))
    body = response.content.decode()
    assert "<script>alert(2)" not in body and "&lt;script&gt;alert(2)" in body


def test_wrong_or_missing_challenge(client, cast):
    data = form_data(client, cast)
    data["challenge_1"] = str(int(data["challenge_1"]) + 1)
    response = client.post(FORM, data)
    assert response.status_code == 400 and "Kết quả phép tính chưa đúng" in response.content.decode()
    # A challenge is good for one try only: the right answer after a wrong one fails too.
    data["challenge_1"] = str(int(data["challenge_1"]) - 1)
    assert client.post(FORM, data).status_code == 400
    data = form_data(client, cast)
    data.pop("challenge_1")
    assert client.post(FORM, data).status_code == 400
    assert not Feedback.objects.exists()


def test_a_text_file_named_jpg_is_refused(client, cast):
    fake = SimpleUploadedFile("anh.jpg", b"just some text, not a photo\n" * 20, content_type="image/jpeg")
    response = client.post(FORM, form_data(client, cast, files=[fake]))
    body = response.content.decode()
    assert response.status_code == 400
    assert "“anh.jpg”: đây không phải ảnh, đoạn ghi âm hay video" in body
    assert not Feedback.objects.exists() and not Attachment.objects.exists()


def test_an_image_bomb_is_refused_from_its_header(client, cast, settings):
    import struct
    import zlib

    # A PNG header claiming 50,000 × 50,000 pixels: refused before anything is decoded.
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 50_000, 50_000, 8, 2, 0, 0, 0))
    bomb = header + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b"")
    response = client.post(FORM, form_data(client, cast, files=[SimpleUploadedFile("bom.png", bomb)]))
    assert response.status_code == 400 and "Ảnh quá lớn" in response.content.decode()
    assert not Feedback.objects.exists()


def test_too_many_files(client, cast, settings):
    settings.FEEDBACK_MAX_FILES = 2
    response = client.post(FORM, form_data(client, cast, files=[jpeg(), jpeg(), jpeg()]))
    assert response.status_code == 400 and "Gửi tối đa 2 tệp." in response.content.decode()
    assert not Feedback.objects.exists()


def test_a_file_over_the_size_limit(client, cast, settings):
    settings.FEEDBACK_MAX_FILE_MB = 1
    big = SimpleUploadedFile("big.jpg", b"\xff\xd8" + b"0" * (1024 * 1024 + 10))
    response = client.post(FORM, form_data(client, cast, files=[big]))
    assert response.status_code == 400 and "lớn hơn 1 MB" in response.content.decode()


def test_a_request_over_the_total_limit_is_not_read(client, cast, settings):
    settings.FEEDBACK_MAX_FILE_MB = 1
    settings.FEEDBACK_MAX_FILES = 1
    big = SimpleUploadedFile("big.jpg", b"0" * (3 * 1024 * 1024))
    response = client.post(FORM, form_data(client, cast, text="Cây đổ chắn ngang hẻm 7", files=[big]))
    body = response.content.decode()
    assert response.status_code == 413 and "Không có gì được lưu" in body
    # What was typed before the files is offered again, with a new challenge and no other complaint.
    assert "Cây đổ chắn ngang hẻm 7" in body and 'class="fb-error"' not in body
    assert not Feedback.objects.exists()


@override_settings(FEEDBACK_RATE_PER_HOUR=2)
def test_the_rate_limit_per_address_answers_429(client, cast):
    for n in range(2):
        text = f"Phản ánh số {n}: cây đổ chắn ngang đường {n * 7} trong hẻm."
        assert client.post(FORM, form_data(client, cast, text=text, phone="", email="")).status_code == 200
    response = client.post(FORM, form_data(client, cast, text="Một phản ánh khác hẳn về rác thải", phone=""))
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "Có quá nhiều yêu cầu" in response.content.decode()
    assert Feedback.objects.count() == 2
    # Another address is not affected.
    other = client.post(
        FORM, form_data(client, cast, text="Nước ngập sâu đường Võ Thị Sáu", phone=""), REMOTE_ADDR="10.0.0.9"
    )
    assert other.status_code == 200


def test_the_rate_limit_per_contact(client, cast):
    for n in range(5):
        data = form_data(client, cast, text=f"Việc thứ {n}: {'abc ' * n} đèn hỏng ở ngõ {n}", email="")
        assert client.post(FORM, data, REMOTE_ADDR=f"10.0.1.{n}").status_code == 200
    data = form_data(client, cast, text="Một việc nữa hoàn toàn khác", phone="+84 912 345 678", email="")
    assert client.post(FORM, data, REMOTE_ADDR="10.0.1.99").status_code == 429


def test_a_repeat_by_the_same_person_is_refused_with_the_earlier_number(client, cast):
    earlier, _code = submit(cast)
    response = client.post(FORM, form_data(client, cast, text=earlier.text + "!"))
    body = response.content.decode()
    assert response.status_code == 409 and earlier.number in body
    assert Feedback.objects.count() == 1


def test_a_similar_text_from_someone_else_is_taken_and_marked(client, cast):
    earlier, _code = submit(cast)
    data = form_data(client, cast, text=earlier.text, phone="0987 654 321", email="binh@example.org")
    assert client.post(FORM, data).status_code == 200
    new = Feedback.objects.exclude(pk=earlier.pk).get()
    assert Event.objects.get(feedback=new, action="submit").data["similar_to"] == earlier.number
    # Another topic, or another commune: not similar.
    data = form_data(client, cast, text=earlier.text, phone="0977 000 111", email="", unit=cast.other_commune.code)
    assert client.post(FORM, data).status_code == 200
    third = Feedback.objects.exclude(pk__in=[earlier.pk, new.pk]).get()
    assert "similar_to" not in Event.objects.get(feedback=third, action="submit").data


def test_the_language_switch_comes_back_to_the_form_with_its_commune(client, cast):
    page = client.get(FORM, {"xa": cast.commune.code}).content.decode()
    assert f'name="next" type="hidden" value="{FORM}?xa={cast.commune.code}"' in page


def test_english_through_the_language_switch(english, client, cast):  # noqa: F811
    body = client.get(FORM).content.decode()
    assert '<html lang="en"' in body and "Send feedback" in body
    street_lights()
    assert "Street lights" in body or "Street lights" in client.get(FORM).content.decode()
    data = form_data(client, cast)
    assert client.post(FORM, data).status_code == 200
    assert Feedback.objects.get().language == "en"


def test_inactive_topics_are_not_offered(client, cast):
    topic = street_lights()
    topic.is_active = False
    topic.save()
    assert 'value="den-duong"' not in client.get(FORM).content.decode()
    data = {**form_data(client, cast), **challenge(client)}
    assert client.post(FORM, data).status_code == 400


@override_settings(FEEDBACK_RATE_PER_HOUR=2)
def test_the_address_limit_also_counts_stored_feedback(client, cast):
    # The cache's counter can lose increments (the database cache's incr is not atomic); the rows cannot.
    for n in range(2):
        data = FeedbackData(topic=street_lights(), unit=cast.commune, text=f"Sự việc số {n}: nắp cống mất {n}")
        do_submit_feedback(data, source_ip="127.0.0.1")
    response = client.post(FORM, form_data(client, cast, text="Một việc hoàn toàn khác", phone="", email=""))
    assert response.status_code == 429 and 3000 < int(response["Retry-After"]) <= 3600
    assert Feedback.objects.count() == 2
