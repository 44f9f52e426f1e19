"""Working days in Vietnam: weekends and the public holidays of the `holidays` package (lunar Tết included).

Deadlines for answering citizens are counted in working days (ngày làm việc). The holiday calendar comes from a
maintained library, never a hand-written list: Tết moves with the lunar calendar and the government moves days off
from year to year (the package follows those decisions).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _holidays(year: int, country: str) -> dict[date, str]:
    return dict(holidays.country_holidays(country, years=year))


def holiday_name(day: date, country: str = "VN") -> str | None:
    """The holiday's name when `day` is a public holiday, else None."""
    return _holidays(day.year, country).get(day)


def is_working_day(day: date, country: str = "VN") -> bool:
    return day.weekday() < 5 and holiday_name(day, country) is None


def add_working_days(start: date, days: int, country: str = "VN") -> date:
    """The date `days` working days after `start` (the start day itself does not count)."""
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day, country):
            counted += 1
    return day


def working_days_between(start: date, end: date, country: str = "VN") -> int:
    """Working days after `start` up to and including `end` (negative when `end` comes first)."""
    if end < start:
        return -working_days_between(end, start, country)
    return sum(1 for n in range(1, (end - start).days + 1) if is_working_day(start + timedelta(days=n), country))
