"""Import bulletins received from the central system or another province (our JSON or IPTC ninjs)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from nguon.accounts.access import can, require
from nguon.accounts.roles import Capability
from nguon.audit.actions import record_event
from nguon.content.actions import (
    BulletinData,
    _content_hash,
    _history,
    _mirror,
    _new_revision,
    _publish,
    clean_bulletin_data,
)
from nguon.content.models import Bulletin, Category, Language, Priority, Source, Status, WorkflowEvent
from nguon.core.errors import Conflict, DomainError, Forbidden, Invalid
from nguon.units.models import Unit

MAX_ITEMS = 1000


@dataclass
class ImportedItem:
    external_id: str
    data: BulletinData


@dataclass
class BulletinImportReport:
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)


def _ninjs_priority(urgency) -> str:
    # ninjs urgency: 1 is most urgent, 9 least.
    if isinstance(urgency, int) and urgency <= 1:
        return Priority.EMERGENCY
    if isinstance(urgency, int) and urgency <= 3:
        return Priority.PRIORITY
    return Priority.NORMAL


def _item(raw: object, index: int, categories: dict[str, Category]) -> ImportedItem:
    if not isinstance(raw, dict):
        raise Invalid(_("Item %(n)d is not an object.") % {"n": index})
    if "headline" in raw or "uri" in raw:  # IPTC ninjs
        external_id = raw.get("uri") or raw.get("guid") or ""
        body = raw.get("body_text") or raw.get("body_html") or ""
        data = BulletinData(
            title=str(raw.get("headline") or ""),
            summary=str(raw.get("description_text") or ""),
            body=str(body),
            language=str(raw.get("language") or "vi")[:2],
            priority=_ninjs_priority(raw.get("urgency")),
        )
    else:
        external_id = raw.get("id") or ""
        data = BulletinData(
            title=str(raw.get("title") or ""),
            summary=str(raw.get("summary") or ""),
            body=str(raw.get("body") or ""),
            language=str(raw.get("language") or Language.VI),
            priority=str(raw.get("priority") or Priority.NORMAL),
            category=categories.get(str(raw.get("category") or "")),
            board_text=str(raw.get("board_text") or ""),
        )
    if not isinstance(external_id, str | int) or not str(external_id).strip():
        raise Invalid(_("Item %(n)d has no identifier (id or uri).") % {"n": index})
    return ImportedItem(external_id=str(external_id).strip()[:200], data=data)


def parse_bulletins(content: bytes) -> list[dict]:
    try:
        document = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Invalid(_("The file is not valid JSON: %(error)s") % {"error": exc}, code="bad_file") from None
    items = document.get("bulletins", document.get("items")) if isinstance(document, dict) else document
    if isinstance(document, dict) and items is None and ("headline" in document or "uri" in document):
        items = [document]  # a single ninjs item
    if not isinstance(items, list) or not items:
        raise Invalid(_("The file holds no bulletins."), code="bad_file")
    if len(items) > MAX_ITEMS:
        raise Invalid(_("Too many bulletins in one file (at most %(n)d).") % {"n": MAX_ITEMS}, code="bad_file")
    return items


def _check_may_update(item: ImportedItem, *, source: str, acting_user) -> None:
    """An item received before belongs to the unit that received it: only its editors may change it."""
    existing = (
        Bulletin.objects.filter(source=source, external_id=item.external_id)
        .select_related("owner_unit", "current_revision")
        .first()
    )
    if existing is None or existing.current_revision.content_hash == _content_hash(item.data):
        return
    if not can(acting_user, Capability.EDIT_CONTENT, existing.owner_unit):
        raise Forbidden(
            _("This bulletin was already received by %(unit)s; only its editors can update it.")
            % {"unit": existing.owner_unit.name}
        )


def receive_bulletin(
    *, unit: Unit, source: str, external_id: str, data: BulletinData, acting_user=None, publish: bool = False, now=None
) -> tuple[Bulletin, str]:
    """Take in one bulletin written elsewhere (a file import, the central link): checked data, inside the caller's
    transaction. A new revision only when its text changed. It then awaits local approval, or, with `publish`
    (TT 39: a priority or emergency bulletin from above, approved there), is approved and published at once.

    Returns the bulletin and "created", "updated" or "unchanged". A withdrawn or archived one is not taken in again.
    """
    content_hash = _content_hash(data)
    bulletin = Bulletin.objects.select_for_update().filter(source=source, external_id=external_id).first()
    if bulletin is not None and bulletin.current_revision.content_hash == content_hash:
        return bulletin, "unchanged"
    if bulletin is not None and not bulletin.is_editable():
        raise Conflict(_("This bulletin was withdrawn here; a new version of it is not taken in."))
    created = bulletin is None
    if created:
        bulletin = Bulletin.objects.create(owner_unit=unit, source=source, external_id=external_id, title=data.title)
    from_status = "" if created else bulletin.status
    revision = _new_revision(bulletin, data, acting_user, content_hash)
    _mirror(bulletin, revision, data)
    bulletin.status = Status.APPROVED if publish else Status.SUBMITTED
    if publish:
        bulletin.approved_revision = revision
        bulletin.publish_at = None
    bulletin.save()
    _history(bulletin, WorkflowEvent.Action.IMPORT, from_status, actor=acting_user, revision=revision)
    if publish:
        # bulletin_published goes out after commit: the broadcast app puts it into the programmes and, for an
        # emergency, sends the play command to every device of its targets (tt39.on_published).
        _publish(bulletin, acting_user=acting_user, now=now or timezone.now())
    return bulletin, "created" if created else "updated"


def do_import_bulletins(content: bytes, *, unit: Unit, source: str, acting_user) -> BulletinImportReport:
    """All or nothing: every item is checked first; received bulletins await local approval."""
    require(acting_user, Capability.EDIT_CONTENT, unit)
    if source not in (Source.CENTRAL, Source.PROVINCE):
        raise Invalid(_("Unknown source."), fields={"source": [_("Choose one of the listed sources.")]})
    categories = {c.slug: c for c in Category.objects.all()}
    items, problems = [], {}
    for index, raw in enumerate(parse_bulletins(content), start=1):
        try:
            item = _item(raw, index, categories)
            clean_bulletin_data(item.data, unit)
            _check_may_update(item, source=source, acting_user=acting_user)
            items.append(item)
        except DomainError as exc:
            details = [f"{k}: {', '.join(str(m) for m in v)}" for k, v in exc.fields.items()] or [str(exc.message)]
            problems[f"item {index}"] = details
    if problems:
        raise Invalid(_("Some bulletins in the file have errors; nothing was imported."), fields=problems)
    report = BulletinImportReport()
    with transaction.atomic():
        for item in items:
            bulletin, outcome = receive_bulletin(
                unit=unit, source=source, external_id=item.external_id, data=item.data, acting_user=acting_user
            )
            getattr(report, outcome).append(bulletin.pk)
        record_event(
            "content.bulletins_imported",
            actor=acting_user,
            unit=unit,
            obj=unit,
            changes={"source": source, "created": report.created, "updated": report.updated},
        )
    return report
