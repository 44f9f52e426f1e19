"""Deadline reminders (a periodic job): what must be approved before its time comes, told once per deadline."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from nguon.accounts.roles import Capability
from nguon.notifications.actions import notify
from nguon.notifications.models import Kind
from nguon.notifications.recipients import holders

# How far ahead a deadline is announced, and how late one is still worth telling (the job runs every 5 minutes).
LEAD = timedelta(minutes=60)
LATE = timedelta(hours=6)


def _at(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def send_reminders(now: datetime | None = None) -> int:
    """Tell approvers, authors and operators about deadlines within LEAD; return how many were told."""
    now = now or timezone.now()
    with translation.override(settings.LANGUAGE_CODE):
        return _bulletins(now) + _alerts(now) + _slots(now)


def _bulletins(now) -> int:
    """Bulletins whose publish time is near (or just passed) and that are still not approved."""
    from nguon.content.models import Bulletin, Status
    from nguon.notifications.receivers import bulletin_approvers, bulletin_authors

    told = 0
    due = Bulletin.objects.filter(
        status__in=[Status.SUBMITTED, Status.RETURNED, Status.DRAFT],
        publish_at__gt=now - LATE,
        publish_at__lte=now + LEAD,
    ).select_related("owner_unit", "author", "current_revision__created_by")
    for bulletin in due:
        late = bulletin.publish_at <= now
        when = {"title": bulletin.title, "at": _at(bulletin.publish_at)}
        if bulletin.status == Status.SUBMITTED:
            people = bulletin_approvers(bulletin)
            title = (
                _("Publish time passed, still not approved: %(title)s")
                if late
                else _("To approve before %(at)s: %(title)s")
            ) % when
        else:
            people = bulletin_authors(bulletin)
            title = (
                _("Publish time passed, not yet submitted: %(title)s")
                if late
                else _("To submit before %(at)s: %(title)s")
            ) % when
        told += len(
            notify(
                people,
                Kind.DEADLINE,
                title=title,
                body=_("Publish time: %(at)s (%(status)s).") % {**when, "status": bulletin.get_status_display()},
                link=reverse("content:detail", args=[bulletin.pk]),
                unit=bulletin.owner_unit,
                key=f"deadline:bulletin:{bulletin.pk}:{bulletin.publish_at.isoformat()}",
                now=now,
            )
        )
    return told


def _alerts(now) -> int:
    """Alerts still awaiting approval whose expiry is near: approving too late means nobody hears them."""
    from nguon.alerts.models import Alert, AlertState
    from nguon.notifications.receivers import alert_approvers

    told = 0
    due = Alert.objects.filter(state=AlertState.PENDING, expires__gt=now, expires__lte=now + LEAD).select_related(
        "unit"
    )
    for alert in due:
        told += len(
            notify(
                alert_approvers(alert),
                Kind.DEADLINE,
                title=_("Expires at %(at)s, still awaiting approval: %(headline)s")
                % {"at": _at(alert.expires), "headline": alert.headline},
                link=reverse("alerts:detail", args=[alert.pk]),
                unit=alert.unit,
                key=f"deadline:alert:{alert.pk}",
                now=now,
            )
        )
    return told


def _slots(now) -> int:
    """Today's slots starting within LEAD that hold a bulletin not in use (withdrawn, expired, not yet published):
    the devices will skip it, so the unit's operators should replace it."""
    from nguon.broadcast.models import Slot, SlotItem
    from nguon.broadcast.schedule import occurrences
    from nguon.content.models import Bulletin

    told = 0
    today = timezone.localdate(now)
    items = (
        SlotItem.objects.filter(slot__is_active=True, bulletin__isnull=False)
        .exclude(bulletin__in=Bulletin.objects.live(now))
        .select_related("slot__unit", "bulletin")
    )
    by_slot: dict[int, list] = {}
    for item in items:
        by_slot.setdefault(item.slot_id, []).append(item)
    slots = {s.pk: s for s in Slot.objects.filter(pk__in=list(by_slot)).select_related("unit")}
    for slot_id, slot_items in by_slot.items():
        slot = slots[slot_id]
        starts = [o.start for o in occurrences(slot, today, 2) if now < o.start <= now + LEAD]
        if not starts:
            continue
        titles = ", ".join(sorted({i.bulletin.title for i in slot_items}))
        told += len(
            notify(
                holders(Capability.OPERATE_DEVICES, slot.unit),
                Kind.DEADLINE,
                title=_("Slot %(slot)s at %(at)s holds a bulletin that is not in use")
                % {"slot": slot.name, "at": _at(starts[0])},
                body=_("It will be skipped: %(titles)s.") % {"titles": titles},
                link=reverse("schedules:slot", args=[slot.pk]),
                unit=slot.unit,
                key=f"deadline:slot:{slot.pk}:{starts[0].isoformat()}",
                now=now,
            )
        )
    return told
