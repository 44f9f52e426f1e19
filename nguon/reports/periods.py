"""Report periods: a month, a quarter, a year or a range of days, parsed from what a user or a URL gives."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext as _

from nguon.core.errors import Invalid

KINDS = ("month", "quarter", "year", "range")
FIRST_YEAR = 2000
MAX_RANGE_DAYS = 5 * 366
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


@dataclass(frozen=True)
class Period:
    kind: str
    first: date
    last: date

    @property
    def value(self) -> str:
        """The period as it is written in a URL (`2026-11`, `2026-Q4`, `2026`, `2026-01-01..2026-03-31`)."""
        if self.kind == "month":
            return f"{self.first:%Y-%m}"
        if self.kind == "quarter":
            return f"{self.first.year}-Q{(self.first.month - 1) // 3 + 1}"
        if self.kind == "year":
            return str(self.first.year)
        return f"{self.first.isoformat()}..{self.last.isoformat()}"

    @property
    def label(self) -> str:
        if self.kind == "month":
            return _("month %(m)02d/%(y)d") % {"m": self.first.month, "y": self.first.year}
        if self.kind == "quarter":
            return _("quarter %(q)s/%(y)d") % {"q": ROMAN[(self.first.month - 1) // 3 + 1], "y": self.first.year}
        if self.kind == "year":
            return _("year %(y)d") % {"y": self.first.year}
        return _("from %(a)s to %(b)s") % {"a": f"{self.first:%d/%m/%Y}", "b": f"{self.last:%d/%m/%Y}"}

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def bounds(self) -> tuple[datetime, datetime]:
        """[start, end) as aware datetimes at local midnight."""
        zone = ZoneInfo(settings.TIME_ZONE)
        return (
            datetime.combine(self.first, time.min, tzinfo=zone),
            datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=zone),
        )

    def elapsed_minutes(self, cutoff: datetime) -> int:
        """Minutes of the period up to the cut-off (all of them for a period that is over): what a device could
        have been online, so a share for the running month is not held down by the days still to come."""
        start, end = self.bounds()
        return max(0, int((min(end, cutoff) - start).total_seconds() // 60))

    def months(self) -> list[date]:
        """First days of the months the period touches."""
        found, day = [], self.first.replace(day=1)
        while day <= self.last:
            found.append(day)
            day = (day + timedelta(days=32)).replace(day=1)
        return found


def refuse(message: str) -> Invalid:
    return Invalid(message, fields={"period": [message]}, code="invalid_period")


def _year(text: str, today: date) -> int:
    year = int(text)
    if not FIRST_YEAR <= year <= today.year + 1:
        raise refuse(_("Choose a year from %(a)d to %(b)d.") % {"a": FIRST_YEAR, "b": today.year + 1})
    return year


def parse(kind: str, value: str, *, today: date | None = None) -> Period:
    """Read a period, or raise Invalid (code invalid_period) saying what is wrong with it."""
    today = today or date.today()
    value = (value or "").strip()
    if kind not in KINDS:
        raise refuse(_("Unknown period type: choose month, quarter, year or range."))
    if kind == "month" and (m := re.fullmatch(r"(\d{4})-(\d{1,2})", value)):
        year, month = _year(m[1], today), int(m[2])
        if 1 <= month <= 12:
            first = date(year, month, 1)
            return Period(kind, first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1))
    elif kind == "quarter" and (m := re.fullmatch(r"(\d{4})-[Qq]([1-4])", value)):
        year, quarter = _year(m[1], today), int(m[2])
        first = date(year, 3 * quarter - 2, 1)
        last = (date(year, 3 * quarter, 1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        return Period(kind, first, last)
    elif kind == "year" and re.fullmatch(r"\d{4}", value):
        year = _year(value, today)
        return Period(kind, date(year, 1, 1), date(year, 12, 31))
    elif kind == "range" and (m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", value)):
        try:
            first, last = date.fromisoformat(m[1]), date.fromisoformat(m[2])
        except ValueError:
            raise refuse(_("One of the dates does not exist."))
        _year(str(first.year), today)
        _year(str(last.year), today)
        if last < first:
            raise refuse(_("The period ends before it starts."))
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            raise refuse(_("A period may cover at most five years."))
        return Period(kind, first, last)
    examples = {"month": "2026-11", "quarter": "2026-Q4", "year": "2026", "range": "2026-01-01..2026-03-31"}
    raise refuse(_("Write the period like %(example)s.") % {"example": examples[kind]})


def current(kind: str, today: date | None = None) -> Period:
    """The period of this kind that contains today (a range: the last 30 days)."""
    today = today or date.today()
    if kind == "month":
        return parse("month", f"{today:%Y-%m}", today=today)
    if kind == "quarter":
        return parse("quarter", f"{today.year}-Q{(today.month - 1) // 3 + 1}", today=today)
    if kind == "year":
        return parse("year", str(today.year), today=today)
    return Period("range", today - timedelta(days=29), today)


def previous(kind: str, today: date | None = None) -> Period:
    """The last whole period of this kind before today's (what a scheduled report covers)."""
    today = today or date.today()
    this = current(kind, today)
    return current(kind, this.first - timedelta(days=1))
