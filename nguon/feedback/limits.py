"""Abuse limits of the public feedback pages: submissions per client address and per contact, wrong tracking codes
per address (counted with django-ratelimit in the shared cache), and near-duplicates of recent feedback.

A limit is checked before the work (without counting) so a client already over it is answered at once, and counted
when the work is done; the answer is HTTP 429 with Retry-After.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_ratelimit.core import get_usage

from nguon.feedback.models import Feedback
from nguon.lib.shingles import fingerprint, similarity

# Submissions with the same phone number or e-mail address, whatever the client address.
CONTACT_RATE = "5/h"
# Wrong tracking codes per client address: enough for typing mistakes, far too few to guess a 60-bit code.
WRONG_CODE_RATE = "20/h"
# Near-duplicates: the same commune and topic within this period, and at least this similar.
DUPLICATE_WINDOW = timedelta(days=7)
DUPLICATE_SIMILARITY = 0.8
DUPLICATE_CANDIDATES = 500


@dataclass
class Limited:
    """Over a limit: how long until the window ends (the Retry-After header)."""

    retry_after: int


def submit_rate() -> str:
    return f"{settings.FEEDBACK_RATE_PER_HOUR}/h"


def _phone_key(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())
    # 0912… and +84912… are the same number.
    if digits.startswith("84") and len(digits) > 9:
        digits = "0" + digits[2:]
    return digits


def _contact_key(phone: str, email: str) -> str:
    return _phone_key(phone) or email.strip().lower()


def _check(request, group: str, rate: str, key, *, count: bool) -> Limited | None:
    usage = get_usage(request, group=group, key=key, rate=rate, increment=count)
    if usage is None:  # RATELIMIT_ENABLE is off
        return None
    # Checked before the work: the client who has used up the limit is stopped before filling in the form again.
    over = usage["count"] > usage["limit"] if count else usage["count"] >= usage["limit"]
    if over:
        return Limited(retry_after=max(1, usage["time_left"]))
    return None


def _stored_limited(source_ip: str | None, now=None) -> Limited | None:
    """The per-address limit counted from the feedback rows themselves (the last hour's, from this address).

    The cache's counter is the first line; this one holds where the counter cannot: the database cache's `incr`
    is a read and a write, so concurrent submissions lose increments (Redis counts atomically).
    """
    if not source_ip:
        return None
    now = now or timezone.now()
    since = now - timedelta(hours=1)
    recent = Feedback.objects.filter(received_at__gte=since, source_ip=source_ip, channel="web")
    limit = settings.FEEDBACK_RATE_PER_HOUR
    times = list(recent.order_by("-received_at").values_list("received_at", flat=True)[:limit])
    if len(times) < limit:
        return None
    # Free again when the oldest of the last `limit` submissions is an hour old.
    return Limited(retry_after=max(1, int((times[-1] + timedelta(hours=1) - now).total_seconds())))


def submission_limited(
    request, *, phone: str = "", email: str = "", source_ip: str | None = None, count: bool = False
) -> Limited | None:
    """Over the per-address or per-contact submission limit? With `count`, this submission is counted first."""
    limited = _check(request, "feedback.submit.ip", submit_rate(), "ip", count=count)
    contact = _contact_key(phone, email)
    if contact:
        by_contact = _check(request, "feedback.submit.contact", CONTACT_RATE, lambda _g, _r: contact, count=count)
        limited = limited or by_contact
    return limited or _stored_limited(source_ip)


def lookup_limited(request, *, wrong: bool = False) -> Limited | None:
    """Over the wrong-code limit? With `wrong`, a wrong code has just been tried."""
    return _check(request, "feedback.track.wrong", WRONG_CODE_RATE, "ip", count=wrong)


def similar_recent(*, text: str, unit, topic, now=None) -> list[Feedback]:
    """Recent feedback about the same commune and topic whose text is nearly the same, most similar first."""
    mark = fingerprint(text)
    if not mark or unit is None or topic is None:
        return []
    since = (now or timezone.now()) - DUPLICATE_WINDOW
    rows = (
        Feedback.objects.filter(unit=unit, topic=topic, received_at__gte=since)
        .exclude(fingerprint="")
        .only("pk", "number", "fingerprint", "phone", "email", "source_ip", "received_at")
        .order_by("-received_at")[:DUPLICATE_CANDIDATES]
    )
    scored = [(similarity(mark, row.fingerprint), row) for row in rows]
    return [row for score, row in sorted(scored, key=lambda s: -s[0]) if score >= DUPLICATE_SIMILARITY]


def same_sender(row: Feedback, *, phone: str, email: str, source_ip: str | None) -> bool:
    """Did the same person (by contact, or by address when no contact was given) send `row`?"""
    mine = {key for key in (_phone_key(phone), email.strip().lower()) if key}
    theirs = {key for key in (_phone_key(row.phone), row.email.strip().lower()) if key}
    if mine & theirs:
        return True
    return bool(source_ip) and row.source_ip == source_ip
