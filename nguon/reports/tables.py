"""What a report is, whatever shows it: sections of typed columns and rows, with totals and a chart.

The page, the .xlsx, .docx and PDF exporters and the JSON for the data-sharing platform all read this one
structure, so they cannot disagree. Values are plain numbers (or text); formatting is the reader's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# Column kinds: how a value is written (the exporters map them to number formats).
TEXT = "text"  # names, notes
CODE = "code"  # official unit codes: text, never a number (leading zeros)
INT = "int"  # counts: 1.234
DECIMAL = "decimal"  # hours, days: 1.234,5
PERCENT = "percent"  # a share 0–1, written 97,5 %


@dataclass
class Column:
    key: str
    label: str
    kind: str = INT
    group: str = ""  # a heading spanning neighbouring columns ("Số đài truyền thanh"), optional


@dataclass
class Chart:
    """A bar chart of some numeric columns, one group per row (label from `label_key`)."""

    label_key: str
    series: list[str]  # column keys
    title: str = ""


@dataclass
class Section:
    key: str
    title: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    total: dict | None = None  # a last row of totals (label in the first text column)
    chart: Chart | None = None
    note: str = ""

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


@dataclass
class Report:
    kind: str
    title: str
    unit_code: str
    unit_name: str
    period_kind: str
    period_value: str
    period_label: str
    first_day: str  # ISO dates
    last_day: str
    cutoff_at: datetime  # figures include what had arrived by then
    sections: list[Section] = field(default_factory=list)
    summary: list[tuple[str, str]] = field(default_factory=list)  # a few (label, formatted value) lines on top

    def as_json(self) -> dict:
        """The report as JSON (the data-sharing export): typed columns and rows per section."""
        return {
            "kind": self.kind,
            "title": self.title,
            "unit": {"code": self.unit_code, "name": self.unit_name},
            "period": {
                "kind": self.period_kind,
                "value": self.period_value,
                "from": self.first_day,
                "to": self.last_day,
            },
            "cutoff_at": self.cutoff_at.isoformat(),
            "sections": [
                {
                    "key": s.key,
                    "title": s.title,
                    "columns": [{"key": c.key, "label": c.label, "kind": c.kind, "group": c.group} for c in s.columns],
                    "rows": s.rows,
                    "total": s.total,
                    "note": s.note,
                }
                for s in self.sections
            ],
        }
