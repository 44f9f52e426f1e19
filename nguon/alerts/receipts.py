"""`alert` report records (protocol §5): devices acknowledge, then say whether the alert played.

They arrive in report batches through the gateway's group-committing writer, so storing them is a handful of
queries per group whatever its size: the receipts in one insert, then one UPDATE per (alert, state).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db.models import DateTimeField, Value
from django.db.models.functions import Coalesce

from nguon.alerts.models import DISPATCH_RANK, AlertDispatch, AlertReceipt, DispatchState
from nguon.broadcast import reports

DEVICE_STATES = (DispatchState.ACKNOWLEDGED, DispatchState.PLAYED, DispatchState.DISPLAYED, DispatchState.FAILED)
_STAMP = {
    DispatchState.SENT: "sent_at",
    DispatchState.ACKNOWLEDGED: "acknowledged_at",
    DispatchState.PLAYED: "played_at",
    DispatchState.DISPLAYED: "played_at",  # when the board showed it: the time it reached people, as for played
    DispatchState.FAILED: "failed_at",
}


def check(record: dict, now: datetime) -> dict:
    alert = record.get("alert")
    state = record.get("state")
    if not reports.is_int(alert) or not 0 < alert < 2**63 or state not in DEVICE_STATES:
        raise reports.Reject("invalid")
    return {
        "alert": alert,
        "state": state,
        "at": reports.record_time(record, "at", now),
        "reason": reports.record_text(record, "reason", 200),
    }


def row(device_id: int, record: dict, received_at: datetime) -> AlertReceipt:
    return AlertReceipt(
        device_id=device_id,
        seq=record["seq"],
        alert_id=record["alert"],
        state=record["state"],
        at=record["at"],
        reason=record["reason"],
        received_at=received_at,
    )


def stored(receipts: list[AlertReceipt]) -> None:
    """Move each (alert, device) forward to the state its receipt names (never back)."""
    # One UPDATE per (alert, state), stamped with the group's latest arrival (the batches of one group commit
    # arrived within a moment of each other): per-batch stamps would cost one UPDATE per device.
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    arrived: dict[tuple[int, str], datetime] = {}
    reasons: dict[tuple[int, int], str] = {}
    for receipt in receipts:
        key = (receipt.alert_id, receipt.state)
        groups[key].append(receipt.device_id)
        arrived[key] = max(arrived.get(key, receipt.received_at), receipt.received_at)
        if receipt.state == DispatchState.FAILED:
            reasons[(receipt.alert_id, receipt.device_id)] = receipt.reason
    # Acknowledged before played, so that a batch carrying both stamps both.
    for (alert_id, state), device_ids in sorted(groups.items(), key=lambda g: DISPATCH_RANK[g[0][1]]):
        advance(alert_id, device_ids, state, arrived[(alert_id, state)])
    for (alert_id, device_id), reason in reasons.items():
        AlertDispatch.objects.filter(alert_id=alert_id, device_id=device_id).update(reason=reason)


def advance(alert_id: int, device_ids, state: str, at: datetime) -> int:
    """Set `state` on these devices' dispatch rows of the alert, where it is a step forward. Returns rows changed.

    A device that skipped the acknowledgement (or whose acknowledgement is still on its way) got the alert anyway:
    played or failed also stamps `acknowledged_at` when it is empty.
    """
    lower = [s for s, rank in DISPATCH_RANK.items() if rank < DISPATCH_RANK[state]]
    stamps = {_STAMP[state]: at}
    if state in (DispatchState.PLAYED, DispatchState.DISPLAYED, DispatchState.FAILED):
        stamps["acknowledged_at"] = Coalesce("acknowledged_at", Value(at, output_field=DateTimeField()))
    rows = AlertDispatch.objects.filter(alert_id=alert_id, device_id__in=list(device_ids), state__in=lower)
    return rows.update(state=state, **stamps)


reports.register("alert", reports.RecordType(check=check, model=AlertReceipt, row=row, stored=stored))
