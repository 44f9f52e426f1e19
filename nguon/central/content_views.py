"""Pages of what the link carries: children's figures, inventories and shared bulletins (at the parent), and the
"share with the level above" step on a bulletin (at the child)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from nguon.accounts.access import require
from nguon.accounts.roles import Capability
from nguon.central.apply import root_unit
from nguon.central.content_models import ChildReport, SharedBulletin
from nguon.central.link_models import Link
from nguon.central.ninjs import parse_bulletin_body
from nguon.central.up import do_share_bulletin_up
from nguon.content.access import get_bulletin_for_user
from nguon.core.errors import DomainError


def _require_root(user):
    # What children send is the whole instance's business: people who see the root unit see it.
    require(user, Capability.VIEW, root_unit())


def _cell(value, kind: str) -> str:
    if value is None:
        return ""
    if kind == "percent" and isinstance(value, int | float):
        return f"{value * 100:.1f}%".replace(".", ",")
    if isinstance(value, float):
        return f"{value:,.1f}".replace(",", " ").replace(".", ",")
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    return str(value)


def report_tables(report: dict) -> list[dict]:
    """A received report's sections as header and cell lists (the page draws them as they came)."""
    tables = []
    for section in report.get("sections") or []:
        columns = [c for c in section.get("columns") or [] if isinstance(c, dict)]
        rows = [[_cell(r.get(c.get("key")), c.get("kind", "")) for c in columns] for r in section.get("rows") or []]
        total = section.get("total")
        tables.append(
            {
                "title": section.get("title", ""),
                "headers": [c.get("label", "") for c in columns],
                "rows": rows,
                "total": [_cell(total.get(c.get("key")), c.get("kind", "")) for c in columns] if total else None,
                "note": section.get("note", ""),
            }
        )
    return tables


def _latest_reports(link: Link, limit: int = 12) -> list[ChildReport]:
    """The latest report per period, newest periods first (older versions stay as history)."""
    seen, latest = set(), []
    for report in link.child_reports.order_by("-period_value", "-received_at", "-id")[:200]:
        if (report.kind, report.period_kind, report.period_value) in seen:
            continue
        seen.add((report.kind, report.period_kind, report.period_value))
        latest.append(report)
        if len(latest) >= limit:
            break
    return latest


@login_required
def children(request):
    _require_root(request.user)
    rows = []
    for link in Link.objects.children().order_by("name"):
        rows.append(
            {
                "link": link,
                "report": link.child_reports.order_by("-received_at", "-id").first(),
                "inventory": link.child_inventories.order_by("-taken_at", "-id").first(),
                "bulletins": link.shared_bulletins.values("uri").distinct().count(),
            }
        )
    return render(request, "central/children/list.html", {"rows": rows})


@login_required
def child_detail(request, link_id: int):
    _require_root(request.user)
    link = get_object_or_404(Link.objects.children(), pk=link_id)
    reports = _latest_reports(link)
    chosen = reports[0] if reports else None
    if request.GET.get("report", "").isdigit():
        chosen = link.child_reports.filter(pk=int(request.GET["report"])).first() or chosen
    bulletins, seen = [], set()
    for shared in link.shared_bulletins.order_by("-received_at", "-id")[:300]:
        if shared.uri not in seen:
            seen.add(shared.uri)
            bulletins.append(shared)
    context = {
        "link": link,
        "reports": reports,
        "report": chosen,
        "tables": report_tables(chosen.report) if chosen else [],
        "history": link.child_reports.filter(period_value=chosen.period_value).count() if chosen else 0,
        "inventory": link.child_inventories.order_by("-taken_at", "-id").first(),
        "bulletins": bulletins[:50],
    }
    return render(request, "central/children/detail.html", context)


@login_required
def shared_bulletin(request, link_id: int, shared_id: int):
    _require_root(request.user)
    shared = get_object_or_404(SharedBulletin.objects.select_related("link"), pk=shared_id, link_id=link_id)
    parsed = parse_bulletin_body({"priority": shared.priority, "item": shared.ninjs})
    versions = SharedBulletin.objects.filter(link_id=link_id, uri=shared.uri).order_by("-version", "-id")
    return render(
        request,
        "central/children/bulletin.html",
        {"shared": shared, "parsed": parsed, "versions": versions, "link": shared.link},
    )


@login_required
@require_POST
def share_up(request, bulletin_id: int):
    bulletin = get_bulletin_for_user(request.user, bulletin_id, Capability.APPROVE_CONTENT)
    try:
        do_share_bulletin_up(bulletin, acting_user=request.user)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The bulletin will be sent to the level above."))
    return redirect("content:detail", bulletin_id=bulletin.pk)
