"""The PDF export: the NĐ 30/2020 layout as an HTML template, printed by WeasyPrint.

WeasyPrint fetches whatever a document links to; a report needs nothing from outside (fonts come from the
system, styles are inline), so its fetcher refuses every URL that is not a data: URL: a unit name or a note can
never make the worker reach the network or read a local file.
"""

from __future__ import annotations

from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from nguon.reports.exports import layout
from nguon.reports.tables import Report


class DataOnlyFetcher(URLFetcher):
    """Serve data: URLs, refuse everything else (http, https, file, ftp…)."""

    def __init__(self):
        super().__init__(allowed_protocols={"data"}, allow_redirects=False)

    def fetch(self, url, headers=None):
        if not url.lower().startswith("data:"):
            raise ValueError(f"external resources are not fetched: {url[:80]}")
        return super().fetch(url, headers)


def html(report: Report) -> str:
    """The report as the HTML page WeasyPrint prints (also handy to look at in a browser)."""
    sections = []
    for index, section in enumerate(report.sections, start=1):
        aligns = [layout.align(c) for c in section.columns]
        relative = layout.relative_widths(section)
        total = layout.total_row(section)
        sections.append(
            {
                "number": layout.roman(index),
                "section": section,
                "wide": layout.is_wide(section),
                "widths": [f"{100 * w / sum(relative):.2f}" for w in relative],
                "head": layout.header_rows(section),
                "body": [list(zip(row, aligns, strict=True)) for row in layout.body_rows(section)],
                "total": list(zip(total, aligns, strict=True)) if total else None,
            }
        )
    return render_to_string(
        "reports/pdf/report.html",
        {
            "report": report,
            "frame": layout.frame(report),
            "sections": sections,
            "starts_wide": layout.starts_wide(report),
        },
    )


def render(report: Report) -> bytes:
    return HTML(string=html(report), base_url=None, url_fetcher=DataOnlyFetcher()).write_pdf()
