"""Bulletins as IPTC ninjs 2.0 items, both ways: what the link and the file exchange carry (docs/central.md).

A bulletin message's body is `{"priority": "normal|priority|emergency", "item": <ninjs 2.0>, "valid_from",
"valid_to", "expires_at"}`: the TT 39 class travels in its own field (ninjs `urgency` carries it too, 1/3/5, for
readers that know only ninjs). Text travels as plain text bodies ("body", "spoken", "board") and the web rendering
as an HTML body ("web"), which the receiving side sanitises again: nothing from another system is trusted as HTML.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from nguon.content.models import Priority
from nguon.core.errors import Invalid

URGENCY = {Priority.EMERGENCY: 1, Priority.PRIORITY: 3, Priority.NORMAL: 5}
PROFILE = "nguon-bulletin/1"
MAX_TEXT = 200_000  # far above what a bulletin may hold: a guard against a peer sending megabytes


def bulletin_uri(bulletin) -> str:
    """A stable identifier across instances: the issuing instance's root unit code and the bulletin's id."""
    root = bulletin.owner_unit.path.strip("/").split("/")[0]
    return f"urn:nguon:{root}:bulletin:{bulletin.pk}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _audio_rendition(revision) -> dict | None:
    from nguon.speech.actions import find_render, spoken_text_for

    speech = find_render(spoken_text_for(revision))
    if speech is None or speech.mp3 is None:
        return None
    asset = speech.mp3
    href = settings.PUBLIC_URL.rstrip("/") + reverse("content:media_file", args=[asset.sha256])
    rendition = {"href": href, "contenttype": asset.mime_type or "audio/mpeg", "size": asset.size}
    if asset.duration:
        rendition["duration"] = round(asset.duration, 3)
    rendition["hash"] = f"sha256:{asset.sha256}"
    return rendition


def bulletin_body(bulletin) -> dict:
    """The message body for a published bulletin: its TT 39 class and its published revision as ninjs 2.0."""
    revision = bulletin.published_revision
    item: dict = {
        "uri": bulletin_uri(bulletin),
        "type": "text",
        "profile": PROFILE,
        "version": str(revision.number),
        "firstcreated": _iso(bulletin.created_at),
        "versioncreated": _iso(revision.created_at),
        "contentcreated": _iso(bulletin.published_at),
        "pubstatus": "usable",
        "urgency": URGENCY.get(bulletin.priority, 5),
        "language": revision.language,
        "copyrightholder": bulletin.owner_unit.name,
        "headlines": [{"value": revision.title, "contenttype": "text/plain"}],
        "bodies": [{"role": "body", "contenttype": "text/plain", "value": revision.body}],
    }
    if revision.summary:
        item["descriptions"] = [{"role": "summary", "contenttype": "text/plain", "value": revision.summary}]
    for role, value, kind in (
        ("spoken", revision.spoken_text, "text/plain"),
        ("board", revision.board_text, "text/plain"),
        ("web", revision.web_html, "text/html"),
    ):
        if value:
            item["bodies"].append({"role": role, "contenttype": kind, "value": value})
    if revision.category_id:
        item["subjects"] = [{"name": revision.category.name, "uri": f"nguon:category:{revision.category.slug}"}]
    targets = list(revision.targets.all())
    if targets:
        item["places"] = [{"name": u.name, "uri": f"nguon:unit:{u.code}"} for u in targets]
    audio = _audio_rendition(revision)
    if audio:
        item["renditions"] = {"audio": audio}
    return {
        "priority": bulletin.priority,
        "item": item,
        "valid_from": _iso(revision.valid_from),
        "valid_to": _iso(revision.valid_to),
        "expires_at": _iso(bulletin.expires_at),
    }


class Parsed:
    """What the receiving side reads from a bulletin body (checked; text not yet sanitised)."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


def _text(value, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(_("The field %(name)s is not text.") % {"name": name}, code="bad_message")
    if len(value) > MAX_TEXT:
        raise Invalid(_("The field %(name)s is too long.") % {"name": name}, code="bad_message")
    return value


def _when(value, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None or moment.tzinfo is None:
        raise Invalid(_("The field %(name)s is not a time with its offset.") % {"name": name}, code="bad_message")
    return moment


def _role(entries, role: str, name: str) -> str:
    if entries is None:
        return ""
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise Invalid(_("The field %(name)s is not a list of objects.") % {"name": name}, code="bad_message")
    for entry in entries:
        if entry.get("role", "body" if name == "bodies" else "") == role:
            return _text(entry.get("value"), f"{name}[{role}]")
    return ""


def parse_bulletin_body(body: dict) -> Parsed:
    """Read a bulletin message body; raise Invalid (code bad_message) on anything malformed."""
    if not isinstance(body, dict) or not isinstance(body.get("item"), dict):
        raise Invalid(_("The message carries no ninjs item."), code="bad_message")
    item = body["item"]
    priority = body.get("priority")
    if priority not in Priority.values:
        raise Invalid(_("The message has no TT 39 class (normal, priority or emergency)."), code="bad_message")
    uri = _text(item.get("uri"), "uri").strip()
    if not uri or len(uri) > 200:
        raise Invalid(_("The ninjs item has no usable uri."), code="bad_message")
    headlines = item.get("headlines")
    title = ""
    if isinstance(headlines, list) and headlines and isinstance(headlines[0], dict):
        title = _text(headlines[0].get("value"), "headlines")
    version = str(item.get("version") or "1")
    if not version.isdigit() or len(version) > 9:
        raise Invalid(_("The ninjs version is not a number."), code="bad_message")
    places = item.get("places") or []
    if not isinstance(places, list):
        raise Invalid(_("The field places is not a list."), code="bad_message")
    codes = [
        p["uri"].removeprefix("nguon:unit:")
        for p in places
        if isinstance(p, dict) and isinstance(p.get("uri"), str) and p["uri"].startswith("nguon:unit:")
    ]
    subjects = item.get("subjects") or []
    category = ""
    if isinstance(subjects, list):
        for s in subjects:
            if isinstance(s, dict) and isinstance(s.get("uri"), str) and s["uri"].startswith("nguon:category:"):
                category = s["uri"].removeprefix("nguon:category:")
    renditions = item.get("renditions") or {}
    return Parsed(
        uri=uri,
        version=int(version),
        priority=priority,
        title=title,
        summary=_role(item.get("descriptions"), "summary", "descriptions"),
        body=_role(item.get("bodies"), "body", "bodies"),
        spoken_text=_role(item.get("bodies"), "spoken", "bodies"),
        board_text=_role(item.get("bodies"), "board", "bodies"),
        web_html=_role(item.get("bodies"), "web", "bodies"),
        language=str(item.get("language") or "vi")[:2],
        category=category,
        target_codes=codes,
        renditions=renditions if isinstance(renditions, dict) else {},
        valid_from=_when(body.get("valid_from"), "valid_from"),
        valid_to=_when(body.get("valid_to"), "valid_to"),
        expires_at=_when(body.get("expires_at"), "expires_at"),
        item=item,
    )
