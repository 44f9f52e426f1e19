"""The report catalogue: each report type registers how to build itself for a unit and a period.

Builders live in `nguon/reports/builders/`, one module per report, each calling `register()` at import; every
module of that package is imported on first use, so a new report is one new file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from nguon.accounts.access import get_unit_for_user
from nguon.core.errors import NotFound
from nguon.reports.periods import Period, refuse
from nguon.reports.tables import Report
from nguon.units.models import Unit


@dataclass(frozen=True)
class ReportType:
    key: str
    title: Callable[[], str]  # translated when called, in the reader's language
    build: Callable[[Unit, Period, datetime], Report]  # (unit, period, cut-off) → report
    description: Callable[[], str] = lambda: ""
    periods: tuple[str, ...] = ("month", "quarter", "year", "range")
    order: int = 100


_TYPES: dict[str, ReportType] = {}
_loaded = False


def register(report_type: ReportType) -> ReportType:
    _TYPES[report_type.key] = report_type
    return report_type


def _load() -> None:
    global _loaded
    if not _loaded:
        from nguon.reports import builders

        for module in pkgutil.iter_modules(builders.__path__):
            importlib.import_module(f"{builders.__name__}.{module.name}")
        _loaded = True


def types() -> list[ReportType]:
    _load()
    return sorted(_TYPES.values(), key=lambda t: (t.order, t.key))


def get_type(key: str) -> ReportType:
    _load()
    if key not in _TYPES:
        raise NotFound(_("There is no such report."))
    return _TYPES[key]


def build(kind: str, unit: Unit, period: Period, *, cutoff: datetime | None = None) -> Report:
    """Build a report for a unit the caller has already checked (the worker, the scheduled runs)."""
    report_type = get_type(kind)
    if period.kind not in report_type.periods:
        raise refuse(_("This report is not made for that kind of period."))
    return report_type.build(unit, period, cutoff or timezone.now())


def build_for_user(user, kind: str, unit_code: str, period: Period) -> Report:
    """Build a report for a unit the user may see (404 otherwise, as for any object outside their units)."""
    unit = get_unit_for_user(user, unit_code)
    return build(kind, unit, period)
