"""The default feedback topics a new installation starts with (data: offices edit them in the admin)."""

from __future__ import annotations

from nguon.feedback.models import Topic

# code, Vietnamese name, English name, working days to answer, keywords
DEFAULT_TOPICS = [
    ("den-duong", "Đèn đường, chiếu sáng công cộng", "Street lights", 5, "đèn, chiếu sáng, bóng đèn"),
    ("giao-thong", "Giao thông, đường sá, vỉa hè", "Roads, traffic and pavements", 10, "ổ gà, đường, vỉa hè, kẹt xe"),
    ("rac-thai", "Rác thải, vệ sinh môi trường", "Waste and sanitation", 5, "rác, mùi hôi, nước thải"),
    ("ngap-nuoc", "Ngập nước, thoát nước", "Flooding and drainage", 7, "ngập, cống, thoát nước"),
    ("trat-tu", "An ninh, trật tự đô thị", "Public order", 7, "lấn chiếm, tiếng ồn, trật tự"),
    ("dat-dai", "Đất đai, xây dựng", "Land and construction", 15, "đất, xây dựng, giấy phép"),
    ("thu-tuc", "Thủ tục hành chính", "Administrative procedures", 10, "hồ sơ, thủ tục, một cửa"),
    ("y-te", "Y tế, dịch bệnh", "Health and epidemics", 7, "dịch, sốt xuất huyết, y tế"),
    ("truyen-thanh", "Loa truyền thanh, bảng tin", "Loudspeakers and e-boards", 5, "loa, bảng tin, âm lượng"),
    ("khac", "Vấn đề khác", "Other matters", 10, ""),
]


def ensure_topics() -> list[Topic]:
    """Create the default topics that do not exist yet (by code); existing ones are left as the office set them."""
    topics = []
    for position, (code, name, name_en, days, keywords) in enumerate(DEFAULT_TOPICS):
        topic, _ = Topic.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "name_en": name_en,
                "deadline_days": days,
                "keywords": keywords,
                "position": position,
            },
        )
        topics.append(topic)
    return topics
