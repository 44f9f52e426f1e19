"""Report exporters: .xlsx, .docx (NĐ 30/2020 layout) and PDF, all from one `tables.Report`."""

from __future__ import annotations

from dataclasses import dataclass

from nguon.reports.tables import Report

FORMATS = ("xlsx", "docx", "pdf")
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}


@dataclass
class Exported:
    content: bytes
    content_type: str
    filename: str  # ASCII, e.g. "bao-cao-ttcs-75-2026.xlsx"


def filename(report: Report, fmt: str) -> str:
    return f"bao-cao-{report.kind}-{report.unit_code}-{report.period_value}.{fmt}".replace("..", "_")


def export(report: Report, fmt: str) -> Exported:
    """Render the report in one of FORMATS (the exporter modules are imported on demand: WeasyPrint is heavy)."""
    if fmt == "xlsx":
        from nguon.reports.exports.xlsx import render
    elif fmt == "docx":
        from nguon.reports.exports.docx import render
    elif fmt == "pdf":
        from nguon.reports.exports.pdf import render
    else:
        raise ValueError(fmt)
    return Exported(render(report), CONTENT_TYPES[fmt], filename(report, fmt))
