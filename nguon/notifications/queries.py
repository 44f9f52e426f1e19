"""What the badge, the list and the API read: always the signed-in person's own notifications."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Max, Q

from nguon.notifications.models import Notification


def notifications_for(user):
    return Notification.objects.for_user(user)


def badge_state(user) -> dict:
    """Unread count and the newest unread notification that sounds, in one query; `version` changes with them."""
    row = (
        notifications_for(user)
        .unread()
        .aggregate(unread=Count("id"), latest=Max("id"), sound_id=Max("id", filter=Q(sound=True)))
    )
    unread, latest, sound_id = row["unread"], row["latest"] or 0, row["sound_id"] or 0
    return {
        "unread": unread,
        "latest": latest,
        "sound_id": sound_id,
        "version": f"{unread}.{latest}.{sound_id}",
        "chime_repeat": settings.ALERT_CHIME_REPEAT,
    }
