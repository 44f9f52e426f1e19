"""Readable names for audit actions and the fields of their `changes`: one registry, filled by every app.

How to register labels for a new action (the audit log page shows the raw code until you do, and
`nguon/audit/tests/test_labels.py` fails for any action code in the source that has no label):

1. In your app, create or open `audit_labels.py` (it is imported automatically when the audit app is ready).
2. Call `register` with the app's namespace (the part of the action code before the dot):

       from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
       from nguon.audit.labels import CHANGE, Field, register

       register(
           "notifications",
           actions={"notifications.sent": _("Notification sent")},
           fields={
               "channel": _("Channel"),                             # a plain label
               "status": Field(_("Status"), values=Delivery.Status),  # value codes shown by their labels
               "title": Field(_("Title"), kind=CHANGE),              # a [old, new] pair, shown "old → new"
           },
       )

3. Add the Vietnamese of the new msgids to the catalogue (`scripts/check-messages.sh --update`).

Fields registered with the namespace "" apply to every action; a namespace's own fields win over them.
Nothing here ever raises for an unknown code: the page falls back to the code itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# How a list value is read. A list stays a list unless the field says its lists are [old, new] pairs.
LIST = "list"
CHANGE = "change"


@dataclass(frozen=True)
class Field:
    label: Any
    values: Any = None  # a mapping (or a Django Choices class) from stored value to its label
    kind: str = LIST

    def value_labels(self) -> Mapping[str, Any]:
        if self.values is None:
            return {}
        if hasattr(self.values, "choices"):
            return {str(value): label for value, label in self.values.choices}
        return {str(key): label for key, label in dict(self.values).items()}


_actions: dict[str, Any] = {}
# Action codes built at run time from a known prefix (e.g. "broadcast.command_" + command type).
_action_patterns: list[tuple[re.Pattern, Any]] = []
_fields: dict[str, dict[str, Field]] = {}


def register(
    namespace: str,
    *,
    actions: Mapping[str, Any] | None = None,
    fields: Mapping[str, Any] | None = None,
) -> None:
    """Add labels for actions (full codes) and for the `changes` keys of the namespace's actions."""
    for code, label in (actions or {}).items():
        if namespace and not code.startswith(f"{namespace}."):
            raise ValueError(f"audit action {code!r} is outside the namespace {namespace!r}")
        _actions[code] = label
    target = _fields.setdefault(namespace, {})
    for name, spec in (fields or {}).items():
        target[name] = spec if isinstance(spec, Field) else Field(spec)


def register_pattern(pattern: str, label: Any) -> None:
    """Label action codes matching a regular expression; `label` may use `%(name)s` for its named groups."""
    _action_patterns.append((re.compile(pattern), label))


def action_label(code: str) -> tuple[str, bool]:
    """The action's label and whether one is registered (else the code itself)."""
    label = _actions.get(code)
    if label is not None:
        return str(label), True
    for pattern, label in _action_patterns:
        match = pattern.fullmatch(code or "")
        if match:
            return str(label) % match.groupdict() if match.groupdict() else str(label), True
    return str(code or "—"), False


def field_for(action: str, name: str) -> Field | None:
    """The field's registration for this action: its namespace's first, then the shared ones."""
    namespace = (action or "").split(".", 1)[0]
    return _fields.get(namespace, {}).get(name) or _fields.get("", {}).get(name)


def is_action_known(code: str) -> bool:
    return action_label(code)[1]


def known_actions() -> dict[str, str]:
    """Registered action codes and their labels, for choosers and tests."""
    return {code: str(label) for code, label in _actions.items()}


def unknown_actions(codes: Iterable[str]) -> set[str]:
    return {code for code in codes if not is_action_known(code)}


CHANNELS = {
    "web": _("Web"),
    "api": _("API"),
    "worker": _("Background worker"),
    "system": _("System"),
}


# Who acted when no account did: stored as plain codes in the chain (which must not change), shown translated.
ACTORS = {"citizen": _("citizen"), "system": _("the system")}


def actor_label(label: str) -> str:
    """The stored actor as a person reads it ("citizen" → "người dân", "open311:App" → "Open311: App")."""
    if label in ACTORS:
        return str(ACTORS[label])
    if label.startswith("open311:"):
        return f"Open311: {label[8:]}"
    return label


def channel_label(channel: str) -> str:
    if channel in CHANNELS:
        return str(CHANNELS[channel])
    if channel.startswith("cli:"):
        return str(_("Command %(name)s")) % {"name": channel[4:]}
    return channel


# Keys that several apps use with the same meaning.
register(
    "",
    fields={
        "name": Field(_("Name"), kind=CHANGE),
        "title": Field(_("Title"), kind=CHANGE),
        "status": Field(_("Status"), kind=CHANGE),
        "revision": Field(_("Revision"), kind=CHANGE),
        "comment": _("Comment"),
        "unit": _("Unit"),
        "user": _("User"),
        "username": _("Username"),
        "full_name": _("Full name"),
        "email": _("E-mail"),
        "ip": _("Address"),
        "count": _("Count"),
        "devices": _("Devices"),
        "source": _("Source"),
        "created": pgettext_lazy("audit field", "Created"),
        "updated": pgettext_lazy("audit field", "Updated"),
        "bulletin": _("Bulletin"),
        "slot": _("Slot"),
        "items": pgettext_lazy("audit field", "Items"),
        "kind": _("Kind"),
        "reason": _("Reason"),
    },
)
