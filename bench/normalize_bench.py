"""Throughput of the Vietnamese text normaliser (nguon.speech.normalize) on a realistic ~500-word bulletin.

`run()` returns words per second (best of several runs) for the normaliser and, as the reference measured in the
same run, for the cheapest possible pass over the same text (NFC plus whitespace collapse), so that a number can
be judged against the machine it was taken on.
"""

from __future__ import annotations

import re
import time
import unicodedata

_PARAGRAPHS = (
    "THÔNG BÁO\nVề việc tổ chức tiêm chủng và phòng, chống dịch bệnh trên địa bàn tỉnh",
    "Thực hiện Kế hoạch số 183/KH-UBND ngày 23/5/2024 của UBND tỉnh Đồng Nai và Nghị định 30/2020/NĐ-CP, "
    "Sở Y tế thông báo: từ 7h30 đến 11h30 và từ 13h30 - 16h30 các ngày thứ 2 đến thứ 6, Trạm y tế các xã, "
    "phường tổ chức tiêm vắc xin cho trẻ em từ 5-7 tuổi. Tỷ lệ bao phủ đạt 95,5%, tăng 3,5% so với năm 2023.",
    "- Kinh phí thực hiện: 1.500.000.000 đồng (một tỷ năm trăm triệu đồng) từ ngân sách tỉnh; mức hỗ trợ "
    "150.000 đ/người/ngày.\n- Địa điểm: Nhà văn hóa khu phố 3, P. Tân Phong, TP. Biên Hòa.\n"
    "- Liên hệ: ĐT 0251 3822 123, hotline 1900 1234 hoặc 0912.345.678; email: soyte@dongnai.gov.vn.",
    "Dự báo thời tiết: nhiệt độ từ 25-35°C, lượng mưa 50-100 mm, gió cấp 3, tốc độ 20 km/h. Bà con chú ý "
    "không đốt rơm rạ gần khu dân cư; lực lượng PCCC và CSGT túc trực 24/7. Trong quý IV/2024, toàn tỉnh "
    "có 12 KCN với tổng diện tích 5.907,2 km2 đã thu hút 2 tỷ USD vốn FDI.",
    "Chương II. Phần I. Điều 5, khoản 2: Hội đồng nhân dân (HĐND) tỉnh khóa X tổ chức kỳ họp thứ IX vào "
    "ngày 1/7. Chỉ số PCI năm 2023 xếp hạng thứ 14/63, chỉ số PAPI tăng 4 bậc; Mặt trận Tổ quốc (MTTQ) và "
    "các đoàn thể phối hợp triển khai Chương trình mục tiêu quốc gia giai đoạn 2021-2025, v.v.",
    "Người dân có nhu cầu tra cứu thông tin xin truy cập https://www.dongnai.gov.vn hoặc gọi 114 khi có sự "
    "cố cháy nổ. Mọi ý kiến đóng góp gửi về Văn phòng UBND tỉnh trước 17h00 ngày 30/6/2024. Trân trọng!",
)


def bulletin(target_words: int = 500) -> str:
    """A bulletin of about `target_words` words made of the paragraphs above, repeated."""
    parts: list[str] = []
    words = 0
    while words < target_words:
        for paragraph in _PARAGRAPHS:
            parts.append(paragraph)
            words += len(paragraph.split())
            if words >= target_words:
                break
    return "\n".join(parts)


def _reference(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def _best(fn, text: str, *, rounds: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeat):
            fn(text)
        best = min(best, (time.perf_counter() - start) / repeat)
    return best


def run() -> dict:
    from nguon.speech.normalize import normalize

    text = bulletin()
    words = len(text.split())
    normalize(text)  # warm the regex and lexicon caches
    seconds = _best(normalize, text, rounds=7, repeat=50)
    reference = _best(_reference, text, rounds=7, repeat=50)
    spoken = normalize(text)
    return {
        "input_words": words,
        "input_chars": len(text),
        "spoken_words": len(spoken.split()),
        "seconds_per_bulletin": round(seconds, 6),
        "words_per_second": round(words / seconds),
        "reference": "NFC + whitespace collapse on the same text",
        "reference_words_per_second": round(words / reference),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2, ensure_ascii=False))
