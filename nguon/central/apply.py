"""What each message kind means where it arrives (registered in `nguon.central.kinds`).

UP (child → parent): `figures`, `inventory`, `shared_bulletin` are kept per link in the content models, history
and latest, and shown under /central/children/.
DOWN (parent → child): `bulletin` lands in the repository as from above (source "central", owned by the root unit)
and follows TT 39 (`nguon.broadcast.tt39`): emergency is published at once and pushed to every device, priority
is published at once into the programmes, normal awaits the province's approval and the communes' choice as an
imported bulletin does. `alert` is a CAP document taken in as a trusted sender's (`nguon.alerts.importer`).

Each `apply` runs inside the transport's transaction that records the message as received, once per key: raising
a DomainError refuses the message and rolls everything back, so nothing is half-applied.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import transaction
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from nguon.audit.actions import record_event
from nguon.central.content_models import ChildInventory, ChildReport, SharedBulletin
from nguon.central.kinds import DOWN, UP, Kind, register
from nguon.central.ninjs import parse_bulletin_body
from nguon.content.actions import BulletinData, clean_bulletin_data
from nguon.content.importer import receive_bulletin
from nguon.content.models import Category, Priority, Source
from nguon.core.errors import Conflict, Invalid
from nguon.units.models import Unit

MAX_ROWS = 20_000
MAX_CAP_BYTES = 512 * 1024


def root_unit(link=None) -> Unit:
    """The unit this instance speaks for: NGUON_CENTRAL_UNIT_CODE, else the top of the tree."""
    code = settings.CENTRAL_UNIT_CODE
    root = Unit.objects.filter(code=code).first() if code else None
    root = root or Unit.objects.filter(parent__isnull=True).order_by("path").first()
    if root is None:
        raise Invalid(_("This instance has no administrative units yet."), code="no_units")
    return root


def _bad(message: str) -> Invalid:
    return Invalid(message, code="bad_message")


# --- UP: what children send ---------------------------------------------------------------------------------------


def apply_figures(link, body: dict) -> None:
    report = body.get("report") if isinstance(body, dict) else None
    if not isinstance(report, dict) or not isinstance(report.get("sections"), list):
        raise _bad(_("The figures carry no report tables."))
    period = report.get("period") or {}
    unit = report.get("unit") or {}
    if not isinstance(period, dict) or not isinstance(unit, dict) or not period.get("value"):
        raise _bad(_("The figures do not say their period and unit."))
    rows = sum(len(s.get("rows") or []) for s in report["sections"] if isinstance(s, dict))
    if rows > MAX_ROWS:
        raise _bad(_("The figures have too many rows."))
    cutoff = parse_datetime(str(report.get("cutoff_at") or ""))
    ChildReport.objects.create(
        link=link,
        kind=str(report.get("kind") or "")[:40],
        unit_code=str(unit.get("code") or "")[:20],
        period_kind=str(period.get("kind") or "")[:10],
        period_value=str(period["value"])[:30],
        cutoff_at=cutoff if cutoff and cutoff.tzinfo else None,
        report=report,
    )


def apply_inventory(link, body: dict) -> None:
    rows = body.get("rows") if isinstance(body, dict) else None
    if not isinstance(rows, list) or len(rows) > MAX_ROWS or not all(isinstance(r, dict) for r in rows):
        raise _bad(_("The inventory carries no rows."))
    taken = parse_datetime(str(body.get("taken_at") or ""))
    if taken is None or taken.tzinfo is None:
        raise _bad(_("The inventory does not say when it was taken."))
    totals = body.get("totals") if isinstance(body.get("totals"), dict) else {}
    ChildInventory.objects.create(
        link=link, unit_code=str(body.get("unit_code") or "")[:20], taken_at=taken, rows=rows, totals=totals
    )


def apply_shared_bulletin(link, body: dict) -> None:
    parsed = parse_bulletin_body(body)
    SharedBulletin.objects.create(
        link=link,
        uri=parsed.uri,
        version=parsed.version,
        title=(parsed.title or parsed.uri)[:300],
        priority=parsed.priority,
        ninjs=parsed.item,
    )


# --- DOWN: what the parent sends ----------------------------------------------------------------------------------


def _targets(codes: list[str], root: Unit) -> list[Unit]:
    """The parent's target units that exist here, inside our tree; none means the whole province."""
    if not codes:
        return []
    return list(Unit.objects.filter(code__in=codes[:500], path__startswith=root.path).exclude(pk=root.pk))


def apply_bulletin(link, body: dict) -> None:
    parsed = parse_bulletin_body(body)
    root = root_unit(link)
    data = BulletinData(
        title=parsed.title,
        body=parsed.body,
        summary=parsed.summary,
        category=Category.objects.filter(slug=parsed.category).first() if parsed.category else None,
        priority=parsed.priority,
        language=parsed.language if parsed.language in ("vi", "en") else "vi",
        targets=_targets(parsed.target_codes, root),
        valid_from=parsed.valid_from,
        valid_to=parsed.valid_to,
        spoken_text=parsed.spoken_text,
        board_text=parsed.board_text,
        web_html=parsed.web_html,  # sanitised by clean_bulletin_data (nh3), as every bulletin's web text
        expires_at=parsed.expires_at,
    )
    clean_bulletin_data(data, root)  # raises Invalid with every problem: the message is refused whole
    pushed = parsed.priority in (Priority.EMERGENCY, Priority.PRIORITY)
    with transaction.atomic():
        # TT 39: the parent approved it; a priority or emergency bulletin from above is not held for a second
        # approval here (an emergency must reach the devices at once). A normal one waits for the province's
        # approval and then for the communes' choice, as an imported bulletin does.
        bulletin, outcome = receive_bulletin(
            unit=root, source=Source.CENTRAL, external_id=parsed.uri, data=data, publish=pushed
        )
        if outcome == "unchanged":
            return  # the same text again (a re-sent version): nothing changes
        record_event(
            "central.bulletin_received",
            obj=bulletin,
            unit=root,
            changes={"uri": parsed.uri, "version": parsed.version, "priority": parsed.priority,
                     "link": getattr(link, "pk", None), "revision": bulletin.current_revision.number},
        )  # fmt: skip


def _link_sender(link, cap_sender: str, root: Unit):
    """The trusted sender a CAP message from the parent speaks as (made on first sight; it has no usable token:
    its messages arrive only through the signed link)."""
    from nguon.alerts.models import AlertSender

    sender = AlertSender.objects.filter(cap_sender=cap_sender).first()
    if sender is None:
        name = _("Central source system (%(peer)s)") % {"peer": str(link)[:150]}
        sender = AlertSender.objects.create(
            name=name,
            cap_sender=cap_sender,
            unit=root,
            token_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
        )
    return sender


def apply_alert(link, body: dict) -> None:
    from nguon.alerts import cap
    from nguon.alerts.importer import import_cap, parse_or_refuse
    from nguon.alerts.models import Origin

    xml = body.get("cap_xml") if isinstance(body, dict) else None
    if not isinstance(xml, str) or not xml.strip():
        raise _bad(_("The message carries no CAP document."))
    data = xml.encode("utf-8")
    if len(data) > MAX_CAP_BYTES:
        raise _bad(_("The CAP document is too large."))
    message: cap.CapMessage = parse_or_refuse(data).message
    root = root_unit(link)
    sender = _link_sender(link, message.sender, root)
    try:
        with transaction.atomic():
            alert = import_cap(data, unit=sender.unit, sender=sender, origin=Origin.HTTP)
    except Conflict as exc:
        if exc.code == "duplicate_identifier":
            return  # received already, from the sender directly or through another path
        raise
    record_event(
        "central.alert_received",
        obj=alert,
        unit=sender.unit,
        changes={"identifier": alert.identifier, "sender": alert.sender, "link": getattr(link, "pk", None)},
    )


FIGURES = register(Kind("figures", UP, apply_figures))
INVENTORY = register(Kind("inventory", UP, apply_inventory))
SHARED_BULLETIN = register(Kind("shared_bulletin", UP, apply_shared_bulletin))
BULLETIN = register(Kind("bulletin", DOWN, apply_bulletin))
ALERT = register(Kind("alert", DOWN, apply_alert))
