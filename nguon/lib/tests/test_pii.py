import re

import pytest

from nguon.lib.pii import MARK, mask


def test_a_citizens_own_words_lose_name_phone_and_email_but_keep_the_place():
    text = (
        "Tôi là Nguyễn Văn An, số điện thoại 0912345678, email an.nguyen@gmail.com. Đèn đường trước số 12 đường "
        "Phan Trung, Phường Biên Hòa bị hỏng từ 23/5/2024, tối nào cũng tối om từ 18h30."
    )
    result = mask(text, names=["Nguyễn Văn An"])
    assert result.found == ["phone", "email", "name"]
    assert result.text == (
        f"Tôi là {MARK}, số điện thoại {MARK}, email {MARK}. Đèn đường trước số 12 đường "
        "Phan Trung, Phường Biên Hòa bị hỏng từ 23/5/2024, tối nào cũng tối om từ 18h30."
    )


@pytest.mark.parametrize(
    "phone",
    ["0912345678", "0912 345 678", "0912.345.678", "0912-345-678", "+84 912345678", "+84912345678",
     "0251 3822 123", "02513822123", "(0251) 3822 123", "038 123 4567"],
)  # fmt: skip
def test_phone_numbers_in_the_usual_spellings(phone):
    result = mask(f"Gọi cho tôi theo số {phone} nhé.")
    assert result.text == f"Gọi cho tôi theo số {MARK} nhé."
    assert result.found == ["phone"]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("CCCD số 075203001234 cấp ngày 1/2/2021", "id_number"),
        ("CMND 271234567 đã hết hạn", "id_number"),
        ("chuyển vào tài khoản 1903 5678 9012 34 Techcombank", "account"),
        ("số tài khoản 0071001234567 Vietcombank", "account"),
        ("liên hệ qua hop.thu+phananh@bienhoa.dongnai.gov.vn giúp", "email"),
        ("xe biển số 60A-123.45 đỗ chắn lối đi", "plate"),
        ("xe tải 51F-12345 chạy quá tốc độ", "plate"),
        ("xe máy 59-X1 123.45 đi ngược chiều", "plate"),
    ],
)
def test_numbers_that_single_out_a_person(text, kind):
    result = mask(text)
    assert result.found == [kind]
    assert MARK in result.text
    assert not re.search(r"\d{3}", result.text.replace("2021", ""))


@pytest.mark.parametrize(
    "text",
    [
        "Phường Biên Hòa, Xã Trị An và Phường Trấn Biên đều mất điện.",
        "Đèn đường trước số 12 đường Phan Trung bị hỏng từ ngày 23/5/2024, lúc 14h30 và 19:45.",
        "Đường Bà Triệu và chợ Bà Chiểu; tỉnh Bà Rịa - Vũng Tàu; đường Cô Giang; ông bà tôi sống ở đây.",
        "Số tiền 1.500.000.000 đồng cho 300 hộ dân, năm 2024, ngày 01.12.2024, mã số 2024/QĐ-UBND.",
        "Kính gửi UBND Phường Biên Hòa, tôi là người dân khu phố 3, tổ 12, ấp Tân Mai.",
        "Đề nghị ông Chủ tịch UBND phường và anh Công an khu vực xem xét; chị Trưởng ấp đã biết.",
        "Em xin phản ánh: anh em trong xóm đều thấy. An toàn giao thông là trên hết.",
        "Khu công nghiệp Amata, Quốc lộ 1A, km 1871+500, nhà số 12/3A, hẻm 45.",
    ],
)
def test_ordinary_text_is_left_alone(text):
    result = mask(text, names=["Trần Thị Hòa"])
    assert result.text == text
    assert result.found == []


def test_names_after_cues_keep_the_cue():
    text = "Hôm qua ông Trần Văn Bình và bà Lê Thị Hoa ở tổ 5 cãi nhau. Chị Mai nói: anh Tư biết; cô Hạnh thì không."
    result = mask(text)
    assert result.text == (
        f"Hôm qua ông {MARK} và bà {MARK} ở tổ 5 cãi nhau. Chị {MARK} nói: anh {MARK} biết; cô {MARK} thì không."
    )
    assert result.found == ["name"]


@pytest.mark.parametrize(
    "text",
    ["tên tôi là Phạm Minh Tuấn, ở tổ 3.", "Tôi tên là Phạm Minh Tuấn, ở tổ 3.", "tôi là Phạm Minh Tuấn, ở tổ 3."],
)
def test_self_introductions(text):
    assert mask(text).text.endswith(f"{MARK}, ở tổ 3.")


def test_the_senders_name_without_diacritics_in_any_case_and_partly():
    name = "Nguyễn Văn An"
    assert mask("nguyen van an o khu pho 2", names=[name]).text == f"{MARK} o khu pho 2"
    assert mask("NGUYỄN VĂN AN kính gửi", names=[name]).text == f"{MARK} kính gửi"
    assert mask("Ký tên: Văn An.", names=[name]).text == f"Ký tên: {MARK}."
    assert mask("Người gửi Nguyễn An, khu phố 2", names=[name]).text == f"Người gửi {MARK}, khu phố 2"
    # The given name alone, capitalised mid-sentence and not part of a longer name: masked.
    assert mask("Hôm qua An đã báo tổ trưởng.", names=[name]).text == f"Hôm qua {MARK} đã báo tổ trưởng."
    # Part of a place, or a word at a sentence start: left alone.
    assert mask("Xã Trị An. An toàn là trên hết.", names=[name]).text == "Xã Trị An. An toàn là trên hết."


def test_the_senders_given_name_inside_a_place_name_is_not_masked():
    result = mask("Ở Phường Biên Hòa, mọi người gọi Hòa là chị Hòa.", names=["Trần Thị Hòa"])
    assert result.text == f"Ở Phường Biên Hòa, mọi người gọi {MARK} là chị {MARK}."


def test_masking_is_idempotent_and_empty_text_is_fine():
    once = mask("tôi là Nguyễn Văn An, 0912345678", names=["Nguyễn Văn An"]).text
    again = mask(once, names=["Nguyễn Văn An"])
    assert again.text == once and again.found == []
    assert mask("").text == "" and mask("").clean


def test_decomposed_input_is_matched_like_composed():
    import unicodedata

    text = unicodedata.normalize("NFD", "Gửi ông Nguyễn Văn Bình")
    assert mask(text).text == f"Gửi ông {MARK}"
