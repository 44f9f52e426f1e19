"""The plan's topic list (KH 183, II.1.5), loaded as data by a migration; staff can add more."""
# ruff: noqa: E501

DEFAULT_CATEGORIES = [
    ("xay-dung-dang", "Xây dựng Đảng, hệ thống chính trị", "Party and political system building"),
    ("cong-nghiep-thuong-mai-dau-tu", "Công nghiệp, thương mại, dịch vụ và đầu tư", "Industry, trade, services and investment"),
    ("quy-hoach-tinh", "Quy hoạch tỉnh thời kỳ 2021–2030, tầm nhìn 2050", "Provincial planning 2021–2030, vision 2050"),
    ("du-lich", "Du lịch", "Tourism"),
    ("nong-nghiep-nong-thon-moi", "Nông nghiệp, nông thôn mới", "Agriculture and new countryside"),
    ("van-hoa-xa-hoi-moi-truong", "Văn hóa, xã hội, môi trường", "Culture, society, environment"),
    ("chinh-quyen-cai-cach-hanh-chinh", "Chính quyền, cải cách hành chính, chỉ số PAPI, PCI, PAR Index", "Government, administrative reform, PAPI, PCI, PAR Index"),
    ("y-te-giao-duc", "Y tế, giáo dục", "Health, education"),
    ("ton-giao-dan-toc-an-sinh", "Tôn giáo, dân tộc, giảm nghèo, an sinh xã hội", "Religion, ethnicity, poverty reduction, social policy"),
    ("phong-chong-thien-tai", "Phòng, chống thiên tai, dịch bệnh", "Disaster and epidemic prevention"),
]  # fmt: skip
