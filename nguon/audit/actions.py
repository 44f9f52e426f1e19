"""Write to and verify the audit chain."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from nguon.audit.context import current_origin
from nguon.audit.models import AuditCheck, AuditEvent, AuditHead
from nguon.lib.hashchain import GENESIS, Link, find_breaks, link_hash


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Return {field: [old, new]} for the fields whose values differ."""
    return {k: [before.get(k), after.get(k)] for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)}


def _unit_of(obj) -> Any:
    """The unit an object belongs to, for scoping its audit rows."""
    from nguon.units.models import Unit

    if obj is None:
        return None
    if isinstance(obj, Unit):
        return obj
    return getattr(obj, "unit", None)


def record_event(
    action: str,
    *,
    actor=None,
    obj: models.Model | None = None,
    unit=None,
    changes: dict[str, Any] | None = None,
    object_repr: str | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction (so it rolls back with it)."""
    origin = current_origin()
    unit = unit if unit is not None else _unit_of(obj)
    actor = actor if actor is not None and getattr(actor, "pk", None) else None
    # Store the JSON as it will read back, so the hash computed now matches the row later.
    changes = json.loads(json.dumps(changes or {}, default=str))
    with transaction.atomic():
        # The head row is the chain's lock: writers queue on it, so each new row links to the true last one.
        head, _ = AuditHead.objects.select_for_update().get_or_create(pk=1)
        event = AuditEvent(
            seq=head.count + 1,
            at=timezone.now(),
            actor=actor,
            actor_label=actor_label if actor_label is not None else (actor.get_username() if actor else ""),
            action=action,
            object_type=obj._meta.label_lower if obj is not None else "",
            object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
            object_repr=(object_repr if object_repr is not None else (str(obj) if obj is not None else ""))[:255],
            unit=unit,
            unit_path=unit.path if unit is not None else "",
            changes=changes,
            ip=origin.ip or "",
            user_agent=origin.user_agent,
            channel=origin.channel,
            prev_hash=head.last_hash,
        )
        event.hash = link_hash(event.prev_hash, event.chain_payload())
        event.save(force_insert=True)
        AuditHead.objects.filter(pk=head.pk).update(last_event_id=event.pk, last_hash=event.hash, count=event.seq)
    return event


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    last_event_id: int
    last_hash: str
    problems: list[dict[str, Any]] = field(default_factory=list)


def verify_chain(*, record: bool = True, channel: str = "") -> VerifyResult:
    """Recompute every link; report edited rows, missing rows and a truncated tail."""
    head = AuditHead.objects.filter(pk=1).first() or AuditHead(last_event_id=0, last_hash=GENESIS, count=0)
    events = AuditEvent.objects.filter(seq__lte=head.count).order_by("seq").iterator(chunk_size=2000)
    links = (Link(key=e.pk, prev_hash=e.prev_hash, hash=e.hash, payload=e.chain_payload()) for e in events)
    breaks, count, last_hash = find_breaks(links)
    problems = [{"event_id": b.key, "reason": b.reason} for b in breaks]
    if last_hash != head.last_hash or (count != head.count and not breaks):
        # Rows removed from the end leave nothing to link to: only the head remembers them.
        # (A row missing in the middle is already named by its successor's "unlinked" break.)
        problems.append({"event_id": head.last_event_id, "reason": "head_mismatch"})
    stray = AuditEvent.objects.filter(seq__gt=head.count).order_by("seq").values_list("pk", "seq").first()
    if stray is not None:
        # Writers move the head in the row's own transaction, so a committed row beyond the head
        # we read is either a concurrent append (the head has moved on since) or was inserted by hand.
        current_count = AuditHead.objects.filter(pk=1).values_list("count", flat=True).first() or 0
        if stray[1] > current_count:
            problems.append({"event_id": stray[0], "reason": "not_in_chain"})
    anchor = AuditCheck.objects.filter(ok=True, last_event_id__gt=0).order_by("-id").first()
    if anchor is not None:
        kept = AuditEvent.objects.filter(pk=anchor.last_event_id).values_list("hash", flat=True).first()
        if kept != anchor.last_hash:
            problems.append({"event_id": anchor.last_event_id, "reason": "anchor_missing"})
    result = VerifyResult(
        ok=not problems, checked=count, last_event_id=head.last_event_id, last_hash=last_hash, problems=problems
    )
    if record:
        AuditCheck.objects.create(
            ok=result.ok,
            checked=result.checked,
            last_event_id=result.last_event_id,
            last_hash=result.last_hash,
            problems=result.problems,
            channel=channel or current_origin().channel,
        )
    return result
