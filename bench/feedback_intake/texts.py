"""Varied Vietnamese feedback texts: each one different enough that the near-duplicate check lets it through."""

from __future__ import annotations

import random

PLACES = ["hẻm", "đường", "ngõ", "khu phố", "ấp", "chợ", "trường", "công viên", "cầu", "bến xe"]
PROBLEMS = [
    "đèn đường bị hỏng", "rác thải để lâu không thu gom", "nước ngập sau mưa", "ổ gà lớn giữa đường",
    "cây xanh nghiêng sắp đổ", "loa truyền thanh phát quá to", "lấn chiếm vỉa hè buôn bán", "cống thoát nước bị tắc",
    "tiếng ồn công trình ban đêm", "nắp hố ga bị mất",
]  # fmt: skip
SENTENCE = ("người dân đi lại khó khăn nguy hiểm buổi tối trẻ em học sinh xe máy mùi hôi muỗi nhiều ngày nay "
            "đề nghị chính quyền sớm kiểm tra xử lý giúp bà con khu vực này rất mong")  # fmt: skip
WORDS = SENTENCE.split(" ")


def feedback_text(seed: int) -> str:
    rng = random.Random(seed)
    place = f"{rng.choice(PLACES)} {rng.randint(1, 500)}"
    words = " ".join(rng.choice(WORDS) for _ in range(28))
    return f"Tại {place}, {rng.choice(PROBLEMS)} đã {rng.randint(2, 30)} ngày. {words.capitalize()}. Mã {seed}."
