"""Readable names for what devices report, for the pages people read.

Devices name what they play as the protocol says (docs/device-protocol.md §5, §8): an occurrence is
"<slot id>@<local day>" (or "push@<event>", "live@<event>", "alert@<alert id>"), an item is a bulletin number, a
media hash (e-boards send its first 16 characters) or "<kind>:<index>", and "now playing" is
"<occurrence>/<item>" ("3@2026-12-02/41"; an e-board showing an alert sends "alert/<alert id>"). `Titles` turns
a page's worth of them into slot names, Vietnamese dates and bulletin, media and alert titles with one query per
kind of thing, whatever the number of rows; the raw values stay in the API and the database.

Only things of the devices' own units and the units above them are named: a report is written by the device,
and must not reveal the title of another commune's bulletin to whoever reads the device's page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.apps import apps
from django.db.models import Q
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from nguon.broadcast.models import PushEvent, Slot
from nguon.content.models import Bulletin, MediaAsset

HEX = re.compile(r"[0-9a-f]{16}|[0-9a-f]{64}")
KIND_ITEM = re.compile(r"([a-z_]+):(\d+)")
KIND_LABELS = {
    "audio": gettext_lazy("audio"),
    "stream": gettext_lazy("stream relay"),
    "image": gettext_lazy("image"),
    "video": gettext_lazy("video"),
    "board": gettext_lazy("e-board text"),
}


@dataclass(frozen=True)
class Occurrence:
    kind: str  # slot, push, live, alert, other
    number: int | None = None
    day: date | None = None


def parse_occurrence(text: str) -> Occurrence:
    head, at, tail = (text or "").partition("@")
    if not at:
        return Occurrence("other")
    if head.isdigit():
        try:
            return Occurrence("slot", int(head), date.fromisoformat(tail))
        except ValueError:
            return Occurrence("other")
    if head in ("push", "live", "alert") and tail.isdigit():
        return Occurrence(head, int(tail))
    return Occurrence("other")


def split_now_playing(text: str) -> tuple[str, str]:
    """ "3@2026-12-02/41" → ("3@2026-12-02", "41"); "alert/17" (an e-board's overlay) → ("alert@17", "")."""
    occurrence, _slash, item = (text or "").partition("/")
    if occurrence == "alert" and item.isdigit():
        return f"alert@{item}", ""
    return occurrence, item


def _paths(units) -> set[str]:
    found = set()
    for unit in units:
        codes = unit.path.strip("/").split("/")
        found.update("/".join(codes[: depth + 1]) + "/" for depth in range(len(codes)))
    return found


class Titles:
    """Names for the occurrences and items of a page of reports from devices of `units`."""

    def __init__(self, pairs: Iterable[tuple[str, str]], *, units: Iterable):
        pairs = [(occurrence or "", item or "") for occurrence, item in pairs]
        paths = _paths(units)
        parsed = [parse_occurrence(occurrence) for occurrence, _item in pairs]
        items = {item for _occurrence, item in pairs}
        slot_ids = {p.number for p in parsed if p.kind == "slot"}
        self.slots = dict(Slot.objects.filter(pk__in=slot_ids, unit__path__in=paths).values_list("pk", "name"))
        bulletin_ids = {int(item) for item in items if item.isdigit() and len(item) < 10}
        self.bulletins = dict(
            Bulletin.objects.filter(pk__in=bulletin_ids, owner_unit__path__in=paths).values_list("pk", "title")
        )
        self.media: dict[str, str] = {}
        hashes = {item for item in items if HEX.fullmatch(item)}
        if hashes:
            condition = Q(sha256__in=[h for h in hashes if len(h) == 64])
            for prefix in (h for h in hashes if len(h) == 16):
                condition |= Q(sha256__startswith=prefix)
            visible = Q(unit__isnull=True) | Q(unit__path__in=paths)
            for sha, title, name in MediaAsset.objects.filter(condition & visible).values_list(
                "sha256", "title", "original_name"
            ):
                self.media[sha] = self.media[sha[:16]] = title or name
        alert_ids = {p.number for p in parsed if p.kind == "alert"}
        self.alerts: dict[int, str] = {}
        if alert_ids and apps.is_installed("nguon.alerts"):
            # broadcast does not import alerts; the model is looked up by name only to show a headline.
            alert_model = apps.get_model("alerts", "Alert")
            self.alerts = dict(
                alert_model.objects.filter(pk__in=alert_ids, unit__path__in=paths).values_list("pk", "headline")
            )
        push_ids = {p.number for p in parsed if p.kind == "push"}
        self.pushed: dict[int, str] = {}
        for pk, body in PushEvent.objects.filter(pk__in=push_ids).values_list("pk", "body") if push_ids else ():
            item = (body or {}).get("item") or {}
            if isinstance(item, dict) and item.get("title"):
                self.pushed[pk] = str(item["title"])[:200]

    def occurrence(self, text: str) -> str:
        """ "3@2026-12-02" → "Chương trình sáng, 02/12/2026"."""
        parsed = parse_occurrence(text)
        if parsed.kind == "slot":
            name = self.slots.get(parsed.number) or _("A removed slot")
            return f"{name}, {formats.date_format(parsed.day, 'SHORT_DATE_FORMAT')}"
        if parsed.kind == "push":
            title = self.pushed.get(parsed.number)
            return _("Played at once: %(title)s") % {"title": title} if title else _("Played at once (command)")
        if parsed.kind == "live":
            return _("Live broadcast")
        if parsed.kind == "alert":
            headline = self.alerts.get(parsed.number)
            return _("Emergency alert: %(headline)s") % {"headline": headline} if headline else _("Emergency alert")
        return _("Outside the programme") if text else "—"

    def item(self, text: str) -> str:
        """ "41" → the bulletin's title; a media hash → the file's title; "stream:2" → "Item 3 (stream relay)"."""
        if not text:
            return "—"
        if text.isdigit() and int(text) in self.bulletins:
            return self.bulletins[int(text)]
        if text in self.media:
            return self.media[text]
        match = KIND_ITEM.fullmatch(text)
        if match:
            kind = KIND_LABELS.get(match.group(1))
            number = int(match.group(2)) + 1
            if kind:
                return _("Item %(n)d (%(kind)s)") % {"n": number, "kind": kind}
            return _("Item %(n)d") % {"n": number}
        if text.isdigit():
            return _("Bulletin no. %(n)s") % {"n": text}
        if HEX.fullmatch(text):
            return _("A file that is no longer in the library")
        return _("Unknown item")

    def now_playing(self, text: str) -> str:
        """ "3@2026-12-02/41" → "<bulletin title> · <slot name>, 02/12/2026"."""
        if not text:
            return "—"
        occurrence, item = split_now_playing(text)
        if parse_occurrence(occurrence).kind == "other":
            return text  # not an identifier: a receiver may describe what it plays in its own words
        if not item:
            return self.occurrence(occurrence)
        return f"{self.item(item)} · {self.occurrence(occurrence)}"


def now_playing_pairs(texts: Iterable[str]) -> list[tuple[str, str]]:
    return [split_now_playing(text) for text in texts if text]


def label_now_playing(devices) -> list:
    """The devices as a list, each with `playing`: what it reports playing, in words."""
    devices = list(devices)
    titles = Titles(now_playing_pairs(d.current_item for d in devices), units={d.unit for d in devices})
    for device in devices:
        device.playing = titles.now_playing(device.current_item)
    return devices


def label_device(device, plays, heartbeats) -> None:
    """Name a device's current item, its recent plays (`occurrence_label`, `item_label`) and its heartbeats'
    items (`playing`), with one Titles for the whole page."""
    pairs = [(p.occurrence, str(p.item)) for p in plays]
    pairs += now_playing_pairs([device.current_item, *(h.current_item for h in heartbeats)])
    titles = Titles(pairs, units=[device.unit])
    device.playing = titles.now_playing(device.current_item)
    for play in plays:
        play.occurrence_label = titles.occurrence(play.occurrence)
        play.item_label = titles.item(str(play.item))
    for heartbeat in heartbeats:
        heartbeat.playing = titles.now_playing(heartbeat.current_item)
