from datetime import date

from nguon.lib.shingles import fingerprint, similarity
from nguon.lib.workdays import add_working_days, holiday_name, is_working_day, working_days_between


def test_weekend_is_skipped():
    # Friday 4 December 2026 + 1 working day is Monday 7 December.
    assert add_working_days(date(2026, 12, 4), 1) == date(2026, 12, 7)


def test_tet_holidays_are_skipped():
    # Tết 2027 (lunar new year on 6 February): the library's days off run 4–10 February.
    assert holiday_name(date(2027, 2, 6)) is not None
    assert not is_working_day(date(2027, 2, 8))
    # Wednesday 3 February + 2 working days: Thursday 4 to Wednesday 10 are off, so Thursday 11, then Friday 12.
    assert add_working_days(date(2027, 2, 3), 2) == date(2027, 2, 12)


def test_national_day_counts_as_holiday():
    assert not is_working_day(date(2026, 9, 2))
    assert working_days_between(date(2026, 8, 28), date(2026, 9, 4)) == 2  # 31/8, 1/9, 2/9 off: 3/9 and 4/9


def test_zero_days_is_the_same_day():
    assert add_working_days(date(2026, 12, 3), 0) == date(2026, 12, 3)


def test_near_duplicates_share_most_slots():
    a = fingerprint("Đèn đường trước số 12 đường Phan Trung bị hỏng từ ba ngày nay, buổi tối rất tối.")
    b = fingerprint("den duong truoc so 12 duong Phan Trung bi hong tu ba ngay nay, buoi toi rat toi!")
    c = fingerprint("Rác thải tập kết sai nơi quy định ở chợ Tân Hiệp, bốc mùi cả khu phố.")
    assert similarity(a, b) == 1.0
    assert similarity(a, c) < 0.3
    assert fingerprint("!!!") == ""
