"""The child's side: the UP messages it queues for its parent.

- `figures`: the TTCS periodic report of the root unit, its tables as JSON (`Report.as_json()`), for the last
  whole month (and the running month, so the parent sees it grow); queued on a schedule (`up_tasks`).
- `inventory`: devices in service per commune, kind, technology and online state; queued on the same schedule.
- `shared_bulletin`: a published bulletin the province marks for sharing up (`do_share_bulletin_up`), as ninjs 2.0.

Idempotency keys name the content: figures and inventories carry a hash of what they say, so the same figures
queued twice go once, and new figures for the same period go as a new message (the parent keeps the history).
"""

from __future__ import annotations

import hashlib
import json

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from nguon.accounts.access import require
from nguon.accounts.roles import Capability
from nguon.audit.actions import record_event
from nguon.central.apply import root_unit
from nguon.central.content_models import BulletinShare
from nguon.central.ninjs import bulletin_body
from nguon.content.models import Bulletin
from nguon.core.errors import Conflict

FIGURES_KIND = "ttcs"


def _digest(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def has_parent() -> bool:
    from nguon.central.link_models import Link

    return Link.objects.parents().filter(state__in=[Link.State.ACTIVE, Link.State.SUSPENDED]).exists()


def figures_body(period, *, unit=None, cutoff=None) -> dict:
    from nguon.reports import catalogue

    unit = unit or root_unit()
    report = catalogue.build(FIGURES_KIND, unit, period, cutoff=cutoff)
    return {"report": report.as_json()}


def inventory_body(*, unit=None, now=None) -> dict:
    """Devices in service under the root unit, per commune (the unit each device belongs to), kind, technology
    and online state."""
    from nguon.broadcast.models import Device

    unit = unit or root_unit()
    now = now or timezone.now()
    rows = [
        {
            "unit_code": r["unit__code"],
            "unit_name": r["unit__name"],
            "kind": r["kind"],
            "technology": r["technology"],
            "online": r["is_online"],
            "devices": r["n"],
        }
        for r in Device.objects.active()
        .filter(unit__path__startswith=unit.path)
        .values("unit__code", "unit__name", "kind", "technology", "is_online")
        .annotate(n=Count("pk"))
        .order_by("unit__code", "kind", "technology", "is_online")
    ]
    totals = {
        "devices": sum(r["devices"] for r in rows),
        "online": sum(r["devices"] for r in rows if r["online"]),
        "communes": len({r["unit_code"] for r in rows}),
    }
    return {"unit_code": unit.code, "taken_at": now.isoformat(), "rows": rows, "totals": totals}


def _enqueue(kind: str, body: dict, key: str) -> None:
    from nguon.central import outbox

    outbox.enqueue(kind, body, key=key)


def queue_figures(period, *, now=None) -> str:
    """Queue the TTCS figures of a period for the parent; return the idempotency key."""
    body = figures_body(period, cutoff=now)
    # The cut-off time changes on every build; the key names the figures themselves.
    sections = body["report"]["sections"]
    key = f"figures:{FIGURES_KIND}:{period.kind}:{period.value}:{_digest(sections)[:24]}"
    with transaction.atomic():
        _enqueue("figures", body, key)
    return key


def queue_inventory(*, now=None) -> str:
    body = inventory_body(now=now)
    key = f"inventory:{body['unit_code']}:{_digest(body['rows'])[:24]}"
    with transaction.atomic():
        _enqueue("inventory", body, key)
    return key


def queue_periodic(*, today=None, now=None) -> list[str]:
    """The scheduled UP messages: last month's and this month's figures, and the inventory. Nothing without a
    parent link."""
    from nguon.reports import periods

    if not has_parent():
        return []
    today = today or timezone.localdate()
    keys = [queue_figures(periods.previous("month", today), now=now), queue_figures(periods.current("month", today))]
    keys.append(queue_inventory(now=now))
    return keys


def do_share_bulletin_up(bulletin: Bulletin, *, acting_user) -> BulletinShare:
    """Mark a published bulletin for sharing with the level above: its published revision goes up as ninjs."""
    require(acting_user, Capability.APPROVE_CONTENT, bulletin.owner_unit)
    if not has_parent():
        raise Conflict(_("This system is not linked to a central system yet."), code="no_parent")
    with transaction.atomic():
        bulletin = Bulletin.objects.select_for_update(of=("self",)).get(pk=bulletin.pk)
        if bulletin.published_revision_id is None or not Bulletin.objects.live().filter(pk=bulletin.pk).exists():
            raise Conflict(_("Only a published bulletin can be shared with the level above."), code="not_live")
        revision = bulletin.published_revision.number
        body = bulletin_body(bulletin)
        key = f"shared_bulletin:{body['item']['uri']}:{revision}"
        share = BulletinShare.objects.filter(key=key).first()
        if share is not None:
            return share  # this version was shared already: once is enough
        share = BulletinShare.objects.create(bulletin=bulletin, revision=revision, key=key, by=acting_user)
        _enqueue("shared_bulletin", body, key)
        record_event(
            "central.bulletin_shared_up",
            actor=acting_user,
            obj=bulletin,
            unit=bulletin.owner_unit,
            changes={"revision": revision, "key": key},
        )
    return share
