"""Reports API schemas: the catalogue's entries and a report's typed tables (`Report.as_json()`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Field

from nguon.core.schemas import Schema


class ReportFilter(Schema):
    unit: str = Field("", max_length=20, description="official unit code (default: the user's widest unit)")
    period: str = Field("", max_length=100, description="month, quarter, year or range (default: year, else month)")
    value: str = Field(
        "", max_length=100, description="2026-11, 2026-Q4, 2026 or 2026-01-01..2026-03-31 (default: the current one)"
    )


class ReportTypeOut(Schema):
    key: str
    title: str
    description: str
    periods: list[str] = Field(..., description="the kinds of period the report is made for")
    url: str = Field(..., description="this report as JSON")
    page: str = Field(..., description="this report's page")


class UnitRef(Schema):
    code: str
    name: str


class PeriodOut(Schema):
    kind: str
    value: str
    date_from: date = Field(..., alias="from")
    date_to: date = Field(..., alias="to")


class ColumnOut(Schema):
    key: str
    label: str
    kind: str = Field(..., description="text, code (unit codes: text), int, decimal or percent (a share 0–1)")
    group: str = Field("", description="a heading spanning neighbouring columns")


class SectionOut(Schema):
    key: str
    title: str
    columns: list[ColumnOut]
    rows: list[dict[str, Any]] = Field(..., description="one object per row, keyed by column key")
    total: dict[str, Any] | None = None
    note: str = ""


class ReportOut(Schema):
    kind: str
    title: str
    unit: UnitRef
    period: PeriodOut
    cutoff_at: datetime = Field(..., description="the figures include what had arrived by then")
    sections: list[SectionOut]
