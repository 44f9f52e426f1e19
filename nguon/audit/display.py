"""Turn stored audit rows into what a person reads: labels for actions and fields, values as short text.

The template only prints strings from here. Walking `changes` in the template broke on a row whose
changes had an `items` key (the template's `changes.items` found the key, not the method), so every
stored shape is walked here, in Python: a dict, a list, a scalar, or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from nguon.audit.labels import CHANGE, Field, action_label, actor_label, channel_label, field_for

MAX_VALUE = 160
MAX_ITEMS = 20


@dataclass
class ChangeRow:
    key: str
    label: str
    known: bool
    text: str  # the value, or "old → new" for a change


@dataclass
class EventRow:
    event: Any
    action_label: str
    action_known: bool
    channel_label: str
    actor: str = ""
    changes: list[ChangeRow] = field(default_factory=list)

    @property
    def known(self) -> bool:
        return self.action_known and all(c.known for c in self.changes)


def _truncate(text: str, limit: int = MAX_VALUE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _scalar(value: Any, spec: Field | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if spec is not None:
        labels = spec.value_labels()
        if str(value) in labels:
            return str(labels[str(value)])
    if isinstance(value, int | float):
        return number_format(value)
    return str(value)


def value_text(value: Any, spec: Field | None = None, *, depth: int = 0) -> str:
    """Any JSON value as one line of text, values translated where the field knows their labels."""
    if isinstance(value, dict):
        if depth > 2:
            return "…"
        parts = [f"{k}: {value_text(v, depth=depth + 1)}" for k, v in list(value.items())[:MAX_ITEMS]]
        more = ", …" if len(value) > MAX_ITEMS else ""
        return _truncate("{" + ", ".join(parts) + more + "}") if depth else _truncate("; ".join(parts) + more)
    if isinstance(value, list | tuple):
        if depth > 2:
            return "…"
        if not value:
            return "—"
        parts = [value_text(v, spec, depth=depth + 1) for v in value[:MAX_ITEMS]]
        more = ", …" if len(value) > MAX_ITEMS else ""
        return _truncate(", ".join(parts) + more)
    return _truncate(_scalar(value, spec))


def change_rows(action: str, changes: Any) -> list[ChangeRow]:
    """One row per key of `changes`, whatever was stored."""
    if changes in (None, "", {}, []):
        return []
    if not isinstance(changes, dict):
        return [ChangeRow(key="", label=_("Details"), known=True, text=value_text(changes))]
    rows = []
    for key, value in changes.items():
        key = str(key)
        spec = field_for(action, key)
        if spec is not None and spec.kind == CHANGE and isinstance(value, list | tuple) and len(value) == 2:
            text = f"{value_text(value[0], spec, depth=1)} → {value_text(value[1], spec, depth=1)}"
        else:
            text = value_text(value, spec)
        rows.append(ChangeRow(key=key, label=str(spec.label) if spec else key, known=spec is not None, text=text))
    return rows


def event_row(event) -> EventRow:
    label, known = action_label(event.action)
    return EventRow(
        event=event,
        action_label=label,
        action_known=known,
        channel_label=channel_label(event.channel or ""),
        actor=actor_label(event.actor_label or ""),
        changes=change_rows(event.action, event.changes),
    )


def event_rows(events) -> list[EventRow]:
    return [event_row(e) for e in events]
