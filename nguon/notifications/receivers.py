"""Turn the other apps' events into notifications: who is told is decided here, by role and unit subtree.

Every receiver runs after the action's commit, in the caller's thread (the rows are written at once, outside
channels later by the worker). A receiver that fails logs and returns: telling people must never undo or break
the action that happened.
"""

from __future__ import annotations

import functools
import logging

from django.conf import settings
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from nguon.accounts.roles import Capability
from nguon.alerts.signals import alert_issued, alert_pending, alert_rejected, alert_withdrawn
from nguon.broadcast.signals import devices_went_offline
from nguon.content.actions import bulletin_approved, bulletin_returned, bulletin_submitted, bulletin_withdrawn
from nguon.feedback.actions import feedback_changed
from nguon.notifications.actions import notify, resolve
from nguon.notifications.kinds import DEVICE_ROLES
from nguon.notifications.models import Kind
from nguon.notifications.recipients import covering, holders

log = logging.getLogger(__name__)

# How many device names an "offline" notification lists before "and N more".
LISTED_DEVICES = 10


def safe(function):
    """Never let a notification problem reach the action's caller; write texts in the office's language."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            with translation.override(settings.LANGUAGE_CODE):
                return function(*args, **kwargs)
        except Exception:
            log.exception("notification receiver %s failed", function.__name__)
            return None

    return wrapper


def _who(user) -> str:
    return (user.full_name or user.get_username()) if user is not None else _("the system")


# --- Bulletins ----------------------------------------------------------------------------------------------------


def bulletin_approvers(bulletin):
    """Approvers of the owning unit and the units above it who may approve this bulletin (not its own author,
    unless the unit allows self-approval)."""
    people = holders(Capability.APPROVE_CONTENT, bulletin.owner_unit)
    if not bulletin.owner_unit.allow_self_approval:
        own = {bulletin.author_id, getattr(bulletin.current_revision, "created_by_id", None)} - {None}
        people = people.exclude(pk__in=own)
    return people


def bulletin_authors(bulletin) -> list:
    people = [bulletin.author, getattr(bulletin.current_revision, "created_by", None)]
    return list({p.pk: p for p in people if p is not None}.values())


def submitted_key(bulletin) -> str:
    return f"bulletin_submitted:{bulletin.pk}:"


@receiver(bulletin_submitted, dispatch_uid="notifications_bulletin_submitted")
@safe
def on_bulletin_submitted(sender, bulletin, actor=None, **kwargs):
    from nguon.content.models import WorkflowEvent

    step = bulletin.history.filter(action=WorkflowEvent.Action.SUBMIT).order_by("-id").values_list("id", flat=True)
    notify(
        bulletin_approvers(bulletin),
        Kind.BULLETIN_SUBMITTED,
        title=_("Bulletin awaiting approval: %(title)s") % {"title": bulletin.title},
        body=_("%(who)s submitted it for %(unit)s (%(priority)s).")
        % {"who": _who(actor), "unit": bulletin.owner_unit.name, "priority": bulletin.get_priority_display()},
        link=reverse("content:detail", args=[bulletin.pk]),
        unit=bulletin.owner_unit,
        key=f"{submitted_key(bulletin)}{step.first() or 0}",
        exclude=[actor],
    )


@receiver(bulletin_returned, dispatch_uid="notifications_bulletin_returned")
@safe
def on_bulletin_returned(sender, bulletin, actor=None, comment="", **kwargs):
    resolve(submitted_key(bulletin))
    notify(
        bulletin_authors(bulletin),
        Kind.BULLETIN_RETURNED,
        title=_("Returned for changes: %(title)s") % {"title": bulletin.title},
        body=_("%(who)s wrote: %(comment)s") % {"who": _who(actor), "comment": comment},
        link=reverse("content:detail", args=[bulletin.pk]),
        unit=bulletin.owner_unit,
        exclude=[actor],
    )


@receiver(bulletin_approved, dispatch_uid="notifications_bulletin_approved")
@safe
def on_bulletin_approved(sender, bulletin, actor=None, **kwargs):
    resolve(submitted_key(bulletin))
    notify(
        bulletin_authors(bulletin),
        Kind.BULLETIN_APPROVED,
        title=_("Approved: %(title)s") % {"title": bulletin.title},
        body=_("%(who)s approved revision %(number)s.")
        % {"who": _who(actor), "number": bulletin.approved_revision.number if bulletin.approved_revision else "?"},
        link=reverse("content:detail", args=[bulletin.pk]),
        unit=bulletin.owner_unit,
        exclude=[actor],
    )


@receiver(bulletin_withdrawn, dispatch_uid="notifications_bulletin_withdrawn")
@safe
def on_bulletin_withdrawn(sender, bulletin, **kwargs):
    resolve(submitted_key(bulletin))


# --- Alerts -------------------------------------------------------------------------------------------------------


def pending_key(alert) -> str:
    return f"alert_pending:{alert.pk}"


def alert_approvers(alert):
    """Approvers of the alert's unit and the units above it who have not approved it yet."""
    from nguon.alerts.models import AlertApproval

    approved = AlertApproval.objects.filter(alert=alert).values("user_id")
    return holders(Capability.APPROVE_ALERTS, alert.unit).exclude(pk__in=approved)


def _alert_origin(alert, actor) -> str:
    if alert.cap_sender_id:
        return _("Received from %(sender)s.") % {"sender": alert.cap_sender.name}
    return _("Submitted by %(who)s.") % {"who": _who(actor or alert.created_by)}


@receiver(alert_pending, dispatch_uid="notifications_alert_pending")
@safe
def on_alert_pending(sender, alert, actor=None, **kwargs):
    lines = [
        f"{alert.event} · {alert.get_severity_display()} · {alert.get_urgency_display()}",
        alert.area_desc or alert.unit.name,
        _alert_origin(alert, actor),
    ]
    if alert.is_drill:
        lines.insert(0, _("Drill or test: %(status)s") % {"status": alert.get_status_display()})
    notify(
        alert_approvers(alert),
        Kind.ALERT_PENDING,
        title=_("Alert awaiting approval: %(headline)s") % {"headline": alert.headline},
        body="\n".join(line for line in lines if line),
        link=reverse("alerts:detail", args=[alert.pk]),
        unit=alert.unit,
        key=pending_key(alert),
        exclude=[actor],
    )


def _tell_author(alert, actor, kind, title, body="") -> None:
    if alert.created_by_id is None:
        return
    notify(
        [alert.created_by],
        kind,
        title=title,
        body=body,
        link=reverse("alerts:detail", args=[alert.pk]),
        unit=alert.unit,
        exclude=[actor],
    )


@receiver(alert_issued, dispatch_uid="notifications_alert_issued")
@safe
def on_alert_issued(sender, alert, actor=None, **kwargs):
    resolve(pending_key(alert))
    _tell_author(
        alert,
        actor,
        Kind.ALERT_ISSUED,
        _("Issued: %(headline)s") % {"headline": alert.headline},
        _("%(who)s approved it; it is on its way to the devices.") % {"who": _who(actor)},
    )


@receiver(alert_rejected, dispatch_uid="notifications_alert_rejected")
@safe
def on_alert_rejected(sender, alert, actor=None, comment="", **kwargs):
    resolve(pending_key(alert))
    body = _("%(who)s rejected it.") % {"who": _who(actor)}
    if comment:
        body += "\n" + comment
    _tell_author(alert, actor, Kind.ALERT_REJECTED, _("Rejected: %(headline)s") % {"headline": alert.headline}, body)


@receiver(alert_withdrawn, dispatch_uid="notifications_alert_withdrawn")
@safe
def on_alert_withdrawn(sender, alert, reason="", by=None, actor=None, **kwargs):
    resolve(pending_key(alert))
    people = list(holders(Capability.APPROVE_ALERTS, alert.unit))
    if alert.created_by_id:
        people.append(alert.created_by)
    body = reason or _("A later message replaced or cancelled it before it was approved.")
    if by is not None:
        body += "\n" + _("Withdrawn by: %(headline)s") % {"headline": getattr(by, "headline", by)}
    notify(
        people,
        Kind.ALERT_WITHDRAWN,
        title=_("Withdrawn before approval: %(headline)s") % {"headline": alert.headline},
        body=body,
        link=reverse("alerts:detail", args=[alert.pk]),
        unit=alert.unit,
        key=f"alert_withdrawn:{alert.pk}",
        exclude=[actor],
    )


# --- Devices ------------------------------------------------------------------------------------------------------


def _offline_text(devices: list) -> dict:
    units = {d.unit_id: d.unit for d in devices}
    names = [f"{d.name} ({d.unit.name})" for d in devices[:LISTED_DEVICES]]
    if len(devices) > LISTED_DEVICES:
        names.append(_("and %(n)d more") % {"n": len(devices) - LISTED_DEVICES})
    only_unit = next(iter(units.values())) if len(units) == 1 else None
    n = len(devices)
    return {
        "title": ngettext("%(n)d device went offline", "%(n)d devices went offline", n) % {"n": n},
        "body": "\n".join(names),
        "link": reverse("broadcast:fleet") + "?status=offline" + (f"&unit={only_unit.code}" if only_unit else ""),
        "unit": only_unit,
        "data": {"device_ids": sorted(d.pk for d in devices)},
    }


@receiver(devices_went_offline, dispatch_uid="notifications_devices_offline")
@safe
def on_devices_offline(sender, device_ids, at, **kwargs):
    """One notification per person listing their devices. While it is unread, later outages are added to it
    instead of a new one (and no new e-mail): a flapping fleet must not bury the bell or the mailbox."""
    from nguon.accounts.models import User
    from nguon.broadcast.models import Device
    from nguon.notifications.models import Notification

    devices = list(Device.objects.filter(pk__in=device_ids).select_related("unit").order_by("unit__path", "name"))
    if not devices:
        return
    reach = covering(DEVICE_ROLES, {d.unit_id: d.unit for d in devices}.values())
    people = User.objects.in_bulk(list(reach))
    for user_id, unit_ids in reach.items():
        mine = [d for d in devices if d.unit_id in unit_ids]
        still_open = (
            Notification.objects.for_user(people[user_id]).unread().filter(kind=Kind.DEVICES_OFFLINE).order_by("-id")
        ).first()
        if still_open is not None:
            ids = set(still_open.data.get("device_ids", [])) | {d.pk for d in mine}
            merged = list(Device.objects.filter(pk__in=ids).select_related("unit").order_by("unit__path", "name"))
            text = _offline_text(merged)
            Notification.objects.filter(pk=still_open.pk).update(**{k: v for k, v in text.items() if k != "unit"},
                                                                 unit=text["unit"])  # fmt: skip
            continue
        notify([people[user_id]], Kind.DEVICES_OFFLINE, key=f"devices_offline:{at.isoformat()}", now=at,
               **_offline_text(mine))  # fmt: skip


# --- Citizens' feedback -------------------------------------------------------------------------------------------


def feedback_key(feedback, what: str) -> str:
    return f"feedback_{what}:{feedback.pk}:"


def _feedback_link(feedback) -> str:
    return reverse("feedback:detail", args=[feedback.pk])


def _feedback_title(feedback) -> str:
    return feedback.title or feedback.topic.name


@receiver(feedback_changed, dispatch_uid="notifications_feedback_changed")
@safe
def on_feedback_changed(sender, feedback, event, actor=None, **kwargs):
    common = {"link": _feedback_link(feedback), "unit": feedback.handler_unit, "exclude": [actor]}
    if event.action in ("submit", "transfer"):
        handlers = holders(Capability.HANDLE_FEEDBACK, feedback.handler_unit)
        if feedback.handler_organisation_id:
            # An organisation's feedback goes to its own people when it has any; else to the unit's handlers.
            own = handlers.filter(organisation=feedback.handler_organisation)
            handlers = own if own.exists() else handlers
        notify(
            handlers,
            Kind.FEEDBACK_RECEIVED,
            title=_("New feedback %(number)s: %(title)s")
            % {"number": feedback.number, "title": _feedback_title(feedback)},
            body=_("%(topic)s, %(unit)s.") % {"topic": feedback.topic.name, "unit": feedback.unit.name},
            key=f"{feedback_key(feedback, 'received')}{event.pk}",
            **common,
        )
    elif event.action == "accept" or event.action == "refuse":
        resolve(feedback_key(feedback, "received"))
    elif event.action == "assign" and feedback.assignee_id:
        resolve(feedback_key(feedback, "received"))
        notify(
            [feedback.assignee],
            Kind.FEEDBACK_ASSIGNED,
            title=_("Feedback %(number)s assigned to you") % {"number": feedback.number},
            body=_("%(who)s: %(title)s, due %(due)s.")
            % {
                "who": _who(actor),
                "title": _feedback_title(feedback),
                "due": timezone.localtime(feedback.due_at).strftime("%d/%m/%Y") if feedback.due_at else "—",
            },
            key=f"{feedback_key(feedback, 'assigned')}{event.pk}",
            **common,
        )
    elif event.action == "draft":
        notify(
            holders(Capability.APPROVE_FEEDBACK, feedback.handler_unit),
            Kind.FEEDBACK_DRAFTED,
            title=_("Answer to approve: %(number)s") % {"number": feedback.number},
            body=_("%(who)s drafted an answer to “%(title)s”.")
            % {"who": _who(actor), "title": _feedback_title(feedback)},
            key=f"{feedback_key(feedback, 'drafted')}{event.pk}",
            **common,
        )
    elif event.action == "return":
        resolve(feedback_key(feedback, "drafted"))
        notify(
            [feedback.assignee] if feedback.assignee_id else [],
            Kind.FEEDBACK_RETURNED,
            title=_("Answer returned: %(number)s") % {"number": feedback.number},
            body=_("%(who)s wrote: %(comment)s") % {"who": _who(actor), "comment": event.note},
            **common,
        )
    elif event.action in ("approve", "answer"):
        resolve(feedback_key(feedback, "drafted"))
    elif event.action == "reopen":
        people = (
            [feedback.assignee] if feedback.assignee_id else holders(Capability.HANDLE_FEEDBACK, feedback.handler_unit)
        )
        notify(
            people,
            Kind.FEEDBACK_REOPENED,
            title=_("Feedback reopened by the citizen: %(number)s") % {"number": feedback.number},
            body=event.note,
            key=f"{feedback_key(feedback, 'reopened')}{event.pk}",
            **common,
        )
