"""Report periods: what users and URLs may ask for, and the refusals of absurd ones."""

from datetime import date

import pytest

from nguon.core.errors import Invalid
from nguon.reports import periods

TODAY = date(2026, 12, 3)


@pytest.mark.parametrize(
    ("kind", "value", "first", "last", "label"),
    [
        ("month", "2026-02", date(2026, 2, 1), date(2026, 2, 28), "tháng 02/2026"),
        ("month", "2024-2", date(2024, 2, 1), date(2024, 2, 29), "tháng 02/2024"),
        ("quarter", "2026-Q4", date(2026, 10, 1), date(2026, 12, 31), "quý IV/2026"),
        ("quarter", "2026-q1", date(2026, 1, 1), date(2026, 3, 31), "quý I/2026"),
        ("year", "2026", date(2026, 1, 1), date(2026, 12, 31), "năm 2026"),
        ("range", "2026-01-15..2026-03-02", date(2026, 1, 15), date(2026, 3, 2), "từ 15/01/2026 đến 02/03/2026"),
    ],
)
def test_periods_read_as_written(kind, value, first, last, label):
    """Labels in Vietnamese, the default language."""
    period = periods.parse(kind, value, today=TODAY)
    assert (period.first, period.last) == (first, last)
    assert period.label == label
    assert periods.parse(kind, period.value, today=TODAY) == period  # the URL form reads back the same


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("month", "2026-13"),
        ("month", "99999-01"),
        ("year", "1900"),
        ("year", "2031"),
        ("quarter", "2026-Q5"),
        ("range", "2026-03-01..2026-01-01"),
        ("range", "2026-02-30..2026-03-01"),
        ("range", "2015-01-01..2026-01-01"),
        ("week", "2026-W01"),
        ("year", ""),
        ("year", "2026; DROP TABLE"),
    ],
)
def test_absurd_periods_are_refused_with_a_reason(kind, value):
    with pytest.raises(Invalid) as refused:
        periods.parse(kind, value, today=TODAY)
    assert refused.value.code == "invalid_period"
    assert refused.value.fields["period"]


def test_the_previous_whole_period_is_what_a_schedule_reports():
    assert periods.previous("month", TODAY).value == "2026-11"
    assert periods.previous("quarter", TODAY).value == "2026-Q3"
    assert periods.previous("year", TODAY).value == "2025"
    assert periods.previous("month", date(2026, 1, 1)).value == "2025-12"


def test_months_of_a_period():
    period = periods.parse("range", "2026-01-31..2026-03-01", today=TODAY)
    assert period.months() == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert period.days == 30
