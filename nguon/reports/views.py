"""Report pages: the catalogue, one page per report with charts and tables, and the downloads."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from nguon.reports import catalogue as reports_catalogue


@login_required
def catalogue(request):
    return render(request, "reports/catalogue.html", {"types": reports_catalogue.types()})
