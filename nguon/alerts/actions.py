"""Alerts: create (composed or imported), approve, issue, reject, cancel. Each action is one transaction with audit.

Approval is the fast path: an approver who composes an alert under a one-person rule issues it with the same click.
Where a unit's rule asks for two, two different people must approve before anything is sent. Issuing dispatches
in the same transaction (dispatch rows + push events), so an issued alert is never left unsent, and the gateway
picks the events up within its poll interval.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nguon.accounts.access import can, require
from nguon.accounts.roles import Capability
from nguon.alerts import delivery
from nguon.alerts.models import (
    Alert,
    AlertApproval,
    AlertRule,
    AlertState,
    AudioState,
    CapStatus,
    Category,
    Certainty,
    MsgType,
    Origin,
    ResponseType,
    RiskLevel,
    Severity,
    Urgency,
)
from nguon.alerts.signals import alert_issued, alert_pending, alert_rejected, alert_withdrawn
from nguon.audit.actions import record_event
from nguon.core.errors import Conflict, Forbidden, Invalid
from nguon.lib import geo
from nguon.units.models import Unit

MAX_POLYGONS = 50
MAX_CIRCLES = 50


def approvals_required(unit: Unit) -> int:
    """The nearest rule on the unit or above it; one approver when none is set."""
    codes = unit.path.strip("/").split("/")
    rules = dict(AlertRule.objects.filter(unit__code__in=codes).values_list("unit__code", "approvals_required"))
    for code in reversed(codes):
        if code in rules:
            return rules[code]
    return 1


def default_sender() -> str:
    return settings.ALERT_SENDER or f"canhbao@{urlsplit(settings.PUBLIC_URL).hostname}"


def _fail(field: str, message, code: str = "invalid") -> Invalid:
    return Invalid(message, code=code, fields={field: [message]})


def _check_choice(data: dict, field: str, choices, errors: dict) -> None:
    if data.get(field) not in choices:
        errors.setdefault(field, []).append(_("Choose one of the listed values."))


def check_area(polygons, circles) -> dict[str, list[str]]:
    """Problems with the shapes, as messages by field (empty: usable)."""
    problems, circle_problems = [], []
    if len(polygons) > MAX_POLYGONS or len(circles) > MAX_CIRCLES:
        problems.append(_("At most %(n)d polygons and %(n)d circles.") % {"n": MAX_POLYGONS})
    for index, ring in enumerate(polygons, 1):
        for code in geo.check_polygon([tuple(p) for p in ring]):
            problem = AREA_PROBLEMS.get(code, code)
            problems.append(_("Polygon %(index)d: %(problem)s") % {"index": index, "problem": problem})
    for index, circle in enumerate(circles, 1):
        for code in geo.check_circle(tuple(circle)):
            problem = AREA_PROBLEMS.get(code, code)
            circle_problems.append(_("Circle %(index)d: %(problem)s") % {"index": index, "problem": problem})
    return {k: v for k, v in (("polygons", problems), ("circles", circle_problems)) if v}


AREA_PROBLEMS = {
    "not_closed": _("the ring is not closed (the last point must repeat the first)"),
    "too_few_points": _("a polygon needs at least four points, the last repeating the first"),
    "too_many_points": _("too many points"),
    "area_too_large": _("the area is far larger than a province"),
    "radius_too_large": _("the radius is far larger than a province"),
    "out_of_range": _("a coordinate is outside the valid range"),
    "invalid_radius": _("the radius must be a positive number of kilometres"),
    "self_crossing": _("the edges cross each other"),
}


def validate(data: dict, *, unit: Unit, now: datetime, area_required: bool = True) -> dict:
    """Check the fields of a new alert; raise Invalid with every problem by field. Returns the cleaned fields."""
    errors: dict[str, list] = {}
    for field in ("event", "headline"):
        if not str(data.get(field) or "").strip():
            errors.setdefault(field, []).append(_("This field is required."))
    _check_choice(data, "status", CapStatus.values, errors)
    _check_choice(data, "msg_type", (MsgType.ALERT, MsgType.UPDATE, MsgType.CANCEL), errors)
    _check_choice(data, "urgency", Urgency.values, errors)
    _check_choice(data, "severity", Severity.values, errors)
    _check_choice(data, "certainty", Certainty.values, errors)
    categories = list(data.get("categories") or [])
    if not categories or any(c not in Category.values for c in categories):
        errors.setdefault("categories", []).append(_("Choose at least one category from the list."))
    if data.get("risk_level") is not None and data["risk_level"] not in RiskLevel.values:
        errors.setdefault("risk_level", []).append(_("A disaster risk level is a number from 1 to 5."))
    if any(r not in ResponseType.values for r in data.get("response_types") or []):
        errors.setdefault("response_types", []).append(_("Choose one of the listed values."))
    expires, onset = data.get("expires"), data.get("onset")
    if expires is not None and expires <= now:
        errors.setdefault("expires", []).append(_("The expiry time has already passed."))
    if expires is not None and onset is not None and onset >= expires:
        errors.setdefault("onset", []).append(_("The onset must come before the expiry."))
    repeat = data.get("repeat") or settings.ALERT_REPEAT
    if not isinstance(repeat, int) or not 1 <= repeat <= 5:
        errors.setdefault("repeat", []).append(_("Between 1 and 5 times."))
    units = list(data.get("area_units") or [])
    outside = [u for u in units if not u.path.startswith(unit.path)]
    if outside:
        names = ", ".join(u.name for u in outside)
        errors.setdefault("area_units", []).append(
            _("These units are outside %(unit)s: %(names)s") % {"unit": unit.name, "names": names}
        )
    polygons, circles = list(data.get("polygons") or []), list(data.get("circles") or [])
    for field, problems in check_area(polygons, circles).items():
        errors.setdefault(field, []).extend(problems)
    located = units or polygons or circles or data.get("geocodes")
    if area_required and data.get("msg_type", MsgType.ALERT) != MsgType.CANCEL and not located:
        errors.setdefault("area_units", []).append(_("Say where: choose units, or draw a polygon or circle."))
    if errors:
        raise Invalid(_("The alert has errors; nothing was saved."), code="invalid_alert", fields=errors)
    return {**data, "repeat": repeat, "area_units": units, "polygons": polygons, "circles": circles}


def _lock(alert: Alert) -> Alert:
    return Alert.objects.select_for_update(of=("self",)).select_related("unit").get(pk=alert.pk)


def _replaced(data: dict, unit: Unit) -> Alert | None:
    """The alert a Cancel or Update changes, locked: issued and current (it will be cancelled or superseded when
    the new message is issued), or still awaiting approval (the new message withdraws it)."""
    target = data.get("replaces")
    if data.get("msg_type", MsgType.ALERT) == MsgType.ALERT:
        return None
    if target is None:
        if data.get("msg_type") == MsgType.UPDATE:
            return None  # an update of a message never received here (imports): taken as it is, with a warning
        raise _fail("replaces", _("A cancellation must name the alert it cancels."), "unknown_reference")
    if not target.unit.path.startswith(unit.path) and not unit.path.startswith(target.unit.path):
        raise _fail("replaces", _("That alert belongs to another area."), "unknown_reference")
    target = _lock(target)
    for _step in range(MAX_CHAIN):
        if target.state != AlertState.WITHDRAWN:
            break
        # Withdrawn by an Update that took its place in the queue: a later message about it is about that update.
        successor = Alert.objects.filter(replaces=target, msg_type=MsgType.UPDATE).order_by("-created_at", "-id")
        successor = successor.first()
        if successor is None:
            break
        target = _lock(successor)
    if target.state == AlertState.WITHDRAWN:
        raise Conflict(_("That alert was withdrawn before approval already."), code="withdrawn")
    if target.state not in (AlertState.ISSUED, AlertState.PENDING):
        raise Conflict(
            _("Only an alert awaiting approval, or issued and still current, can be updated or cancelled."),
            code="not_current",
        )
    return target


MAX_CHAIN = 50  # Updates of Updates: far more than any real alert has


def live_predecessor(alert: Alert) -> Alert | None:
    """The issued alert this one takes over from, looking through the alerts withdrawn on the way (an Update of an
    Update that was withdrawn before approval supersedes what that one would have)."""
    previous = alert.replaces
    for _step in range(MAX_CHAIN):
        if previous is None or previous.state != AlertState.WITHDRAWN:
            break
        previous = previous.replaces
    return previous if previous is not None and previous.state == AlertState.ISSUED else None


def may_withdraw(original: Alert, *, acting_user=None, cap_sender=None, sender: str = "") -> bool:
    """Who may take an alert awaiting approval out of the queue with a Cancel or an Update: the trusted sender that
    sent it, an approver of its unit, whoever created it, or staff passing on a later message of the same sender
    when no trusted sender sent the first (a staff import may not speak for a trusted sender)."""
    if cap_sender is not None:
        return original.cap_sender_id == cap_sender.pk or original.sender == cap_sender.cap_sender
    if acting_user is None:
        return True  # the system itself (management commands)
    if original.created_by_id == acting_user.pk or can(acting_user, Capability.APPROVE_ALERTS, original.unit):
        return True
    return (
        original.cap_sender_id is None
        and original.origin != Origin.HTTP
        and sender == original.sender
        and can(acting_user, Capability.ISSUE_ALERTS, original.unit)
    )


def withdrawal_text(by: Alert, note: str = "") -> str:
    """Why an alert was withdrawn, for the approver: which message took it out of the queue, and its reason."""
    params = {"identifier": by.identifier, "sender": by.sender}
    if by.msg_type == MsgType.CANCEL:
        text = _("A cancellation (%(identifier)s from %(sender)s) arrived before approval.") % params
    else:
        text = _("An update (%(identifier)s from %(sender)s) replaces it in the approval queue.") % params
    if note.strip():
        text = f"{text} " + _("Reason given: %(note)s") % {"note": note.strip()}
    return text


def _withdraw(alert: Alert, *, by: Alert, actor, now) -> None:
    """Take a pending alert out of the queue (a conditional UPDATE: an approval that won the race keeps it)."""
    done = Alert.objects.filter(pk=alert.pk, state=AlertState.PENDING).update(
        state=AlertState.WITHDRAWN, closed_at=now, withdrawn_reason=by.note
    )
    if not done:
        raise Conflict(_("This alert was decided on meanwhile; look at it again."), code="not_pending")
    alert.state, alert.closed_at, alert.withdrawn_reason = AlertState.WITHDRAWN, now, by.note
    reason = str(withdrawal_text(by, by.note))
    record_event(
        "alerts.withdrawn",
        actor=actor,
        actor_label=None if actor is not None else (by.cap_sender.name if by.cap_sender else by.sender),
        obj=alert,
        unit=alert.unit,
        changes={"by": by.pk, "identifier": by.identifier, "msg_type": by.msg_type, "reason": by.note},
    )
    transaction.on_commit(lambda: alert_withdrawn.send(sender=Alert, alert=alert, actor=actor, reason=reason, by=by))


def _close_cancel(cancel: Alert, now) -> None:
    """A Cancel that withdrew an alert nobody had approved, with nothing on the air behind it: its work is done
    (no approval is asked, nothing is sent, it never reaches the public)."""
    Alert.objects.filter(pk=cancel.pk, state=AlertState.PENDING).update(
        state=AlertState.ISSUED, issued_at=now, closed_at=now
    )
    cancel.state, cancel.issued_at, cancel.closed_at = AlertState.ISSUED, now, now


ALERT_FIELDS = (
    "status", "msg_type", "scope", "source", "note", "language", "categories", "event", "response_types", "urgency",
    "severity", "certainty", "sender_name", "headline", "description", "instruction", "web", "contact", "event_en",
    "headline_en", "description_en", "instruction_en", "effective", "onset", "expires", "area_desc", "polygons",
    "circles", "geocodes", "repeat", "risk_level",
)  # fmt: skip


def do_create_alert(
    data: dict,
    *,
    unit: Unit,
    acting_user=None,
    origin: str = Origin.COMPOSED,
    cap_sender=None,
    identifier: str = "",
    sender: str = "",
    sent: datetime | None = None,
    references: list[str] | None = None,
    original_xml: str = "",
    received: dict | None = None,
    warnings: list[str] | None = None,
    issue_now: bool = False,
    area_required: bool = True,
) -> Alert:
    """Save a new alert awaiting approval (and, with `issue_now`, approve it at once where the rule allows)."""
    if acting_user is not None:
        require(acting_user, Capability.ISSUE_ALERTS, unit)
    now = timezone.now()
    data = {"status": CapStatus.ACTUAL, "msg_type": MsgType.ALERT, **data}
    data = validate(data, unit=unit, now=now, area_required=area_required)
    sender = sender or default_sender()
    with transaction.atomic():
        replaces = _replaced(data, unit)
        withdrawing = replaces is not None and replaces.state == AlertState.PENDING
        if withdrawing and not may_withdraw(replaces, acting_user=acting_user, cap_sender=cap_sender, sender=sender):
            raise Forbidden(
                _("Only an approver, or whoever created it, may withdraw an alert that awaits approval."),
                code="withdraw_forbidden",
            )
        fields = {f: data[f] for f in ALERT_FIELDS if data.get(f) is not None}
        alert = Alert(
            **fields,
            unit=unit,
            identifier=identifier or f"urn:uuid:{uuid.uuid4()}",
            sender=sender,
            sent=sent or now,
            replaces=replaces,
            references=references if references is not None else ([replaces.reference()] if replaces else []),
            origin=origin,
            cap_sender=cap_sender,
            original_xml=original_xml,
            received=received,
            import_warnings=[str(w) for w in warnings or []],
            created_by=acting_user,
        )
        if alert.msg_type == MsgType.CANCEL and not alert.headline:
            alert.headline = replaces.headline
        try:
            with transaction.atomic():
                alert.save()
        except IntegrityError:
            raise Conflict(_("An alert with this identifier already exists."), code="duplicate_identifier")
        alert.area_units.set(data["area_units"])
        record_event(
            "alerts.created",
            actor=acting_user,
            obj=alert,
            unit=unit,
            changes={"identifier": alert.identifier, "status": alert.status, "msg_type": alert.msg_type,
                     "headline": alert.headline, "origin": origin},
        )  # fmt: skip
        if withdrawing:
            _withdraw(replaces, by=alert, actor=acting_user, now=now)
            if alert.msg_type == MsgType.CANCEL and live_predecessor(alert) is None:
                _close_cancel(alert, now)
        if alert.msg_type != MsgType.CANCEL and settings.SPEECH_AUTO_RENDER:
            transaction.on_commit(lambda: request_audio(alert.pk))
        if (
            issue_now
            and alert.state == AlertState.PENDING
            and acting_user is not None
            and can(acting_user, Capability.APPROVE_ALERTS, unit)
        ):
            _approve(alert, acting_user, now)
        if alert.state == AlertState.PENDING:
            transaction.on_commit(lambda: alert_pending.send(sender=Alert, alert=alert, actor=acting_user))
    alert.refresh_from_db()
    return alert


def request_audio(alert_id: int) -> None:
    """Ask the speech pipeline for the message (cached by text); compose the alert sound when it is ready."""
    from nguon.alerts.audio import spoken_text
    from nguon.alerts.tasks import compose_audio
    from nguon.speech.actions import request_render
    from nguon.speech.engines import SpeechError
    from nguon.speech.models import RenderStatus

    alert = Alert.objects.select_related("unit").get(pk=alert_id)
    try:
        speech = request_render(spoken_text(alert), unit=alert.unit)
    except (Invalid, SpeechError) as exc:
        Alert.objects.filter(pk=alert_id).update(audio_state=AudioState.FAILED, audio_error=str(exc))
        return
    Alert.objects.filter(pk=alert_id).update(speech=speech, audio_state=AudioState.RENDERING)
    # The render may have finished before the alert pointed at it (cached, or a fast inline worker): then the
    # render_finished receiver did not see this alert, so compose here.
    speech.refresh_from_db(fields=["status"])
    if speech.status == RenderStatus.DONE:
        compose_audio(alert_id)


def do_approve(alert: Alert, *, acting_user) -> Alert:
    require(acting_user, Capability.APPROVE_ALERTS, alert.unit)
    with transaction.atomic():
        alert = Alert.objects.select_for_update(of=("self",)).select_related("unit").get(pk=alert.pk)
        _approve(alert, acting_user, timezone.now())
    alert.refresh_from_db()
    return alert


def _approve(alert: Alert, user, now) -> None:
    if alert.state == AlertState.WITHDRAWN:
        raise Conflict(
            _("This alert was withdrawn by a later cancellation or update before it was approved; it can no longer "
              "be approved."),
            code="withdrawn",
        )  # fmt: skip
    if alert.state != AlertState.PENDING:
        raise Conflict(_("This alert is not awaiting approval."), code="not_pending")
    if alert.is_expired(now):
        raise Invalid(_("The expiry time has already passed: this alert can no longer be issued."), code="expired")
    if AlertApproval.objects.filter(alert=alert, user=user).exists():
        raise Conflict(
            _("You have approved this alert already; the rule asks for another person."), code="already_approved"
        )
    AlertApproval.objects.create(alert=alert, user=user, at=now)
    given = AlertApproval.objects.filter(alert=alert).count()
    needed = approvals_required(alert.unit)
    record_event(
        "alerts.approved", actor=user, obj=alert, unit=alert.unit, changes={"approvals": given, "required": needed}
    )
    if given >= needed:
        _issue(alert, user, now)


def _issue(alert: Alert, user, now) -> None:
    cancel = alert.msg_type == MsgType.CANCEL
    closed_at = now if cancel else None  # a Cancel has done its work once issued
    # Conditional: of an approval and a withdrawal racing for the same pending alert, only one can win.
    if not Alert.objects.filter(pk=alert.pk, state=AlertState.PENDING).update(
        state=AlertState.ISSUED, issued_at=now, closed_at=closed_at
    ):
        raise Conflict(_("This alert is not awaiting approval."), code="not_pending")
    alert.state, alert.issued_at, alert.closed_at = AlertState.ISSUED, now, closed_at
    previous = live_predecessor(alert)
    if previous is not None and Alert.objects.filter(pk=previous.pk, state=AlertState.ISSUED).update(
        state=AlertState.CANCELLED if cancel else AlertState.SUPERSEDED, closed_at=now
    ):
        previous.state = AlertState.CANCELLED if cancel else AlertState.SUPERSEDED
        previous.closed_at = now
        delivery.retract(previous)
    events = [] if cancel else delivery.dispatch(alert, now=now)
    transaction.on_commit(lambda: alert_issued.send(sender=Alert, alert=alert, actor=user))
    record_event(
        "alerts.issued",
        actor=user,
        obj=alert,
        unit=alert.unit,
        changes={"devices": alert.dispatches.count(), "events": [e.pk for e in events],
                 "replaces": previous.pk if previous else None},
    )  # fmt: skip


def do_reject(alert: Alert, *, acting_user, comment: str = "") -> Alert:
    require(acting_user, Capability.APPROVE_ALERTS, alert.unit)
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if alert.state != AlertState.PENDING:
            raise Conflict(_("This alert is not awaiting approval."), code="not_pending")
        alert.state, alert.closed_at = AlertState.REJECTED, timezone.now()
        alert.save(update_fields=["state", "closed_at"])
        record_event("alerts.rejected", actor=acting_user, obj=alert, unit=alert.unit, changes={"comment": comment})
        transaction.on_commit(
            lambda: alert_rejected.send(sender=Alert, alert=alert, actor=acting_user, comment=comment)
        )
    return alert


def do_cancel(alert: Alert, *, acting_user, note: str = "") -> Alert:
    """Cancel a current alert at once (stopping an alert is never held back by a second approval), or withdraw one
    that still awaits approval (its approver, or whoever created it)."""
    if alert.state == AlertState.PENDING:
        if not may_withdraw(alert, acting_user=acting_user):
            raise Forbidden(
                _("Only an approver, or whoever created it, may withdraw an alert that awaits approval."),
                code="withdraw_forbidden",
            )
    else:
        require(acting_user, Capability.APPROVE_ALERTS, alert.unit)
    with transaction.atomic():
        cancel = do_create_alert(
            {
                "msg_type": MsgType.CANCEL,
                "status": alert.status,
                "replaces": alert,
                "note": note,
                "event": alert.event,
                "headline": alert.headline,
                "categories": alert.categories,
                "urgency": alert.urgency,
                "severity": alert.severity,
                "certainty": alert.certainty,
                "risk_level": alert.risk_level,
                "area_units": list(alert.area_units.all()),
                "polygons": alert.polygons,
                "circles": alert.circles,
                "area_desc": alert.area_desc,
                "sender_name": alert.sender_name,
                "language": alert.language,
            },
            unit=alert.unit,
            acting_user=acting_user,
        )
        cancel = Alert.objects.select_for_update(of=("self",)).select_related("unit", "replaces").get(pk=cancel.pk)
        if cancel.state == AlertState.PENDING and can(acting_user, Capability.APPROVE_ALERTS, cancel.unit):
            now = timezone.now()
            AlertApproval.objects.create(alert=cancel, user=acting_user, at=now)
            _issue(cancel, acting_user, now)
    cancel.refresh_from_db()
    return cancel


def on_audio_ready(alert_id: int) -> None:
    """The alert's sound is stored: loudspeakers of an issued alert that were waiting for it get it now."""
    alert = Alert.objects.get(pk=alert_id)
    if alert.state == AlertState.ISSUED:
        delivery.send_audio(alert)


def do_add_sender(*, name: str, cap_sender: str, unit: Unit, acting_user=None) -> tuple:
    """Register a trusted CAP sender; returns (sender, token). The token is shown once and stored hashed."""
    import secrets

    from nguon.alerts.models import AlertSender
    from nguon.broadcast.actions import token_hash

    if acting_user is not None:
        require(acting_user, Capability.MANAGE_UNITS, unit)
    if not cap_sender.strip() or any(c in cap_sender for c in " ,<&"):
        raise _fail("cap_sender", _("A CAP sender has no spaces, commas, < or &."))
    token = "ncap_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        if AlertSender.objects.filter(cap_sender=cap_sender).exists():
            raise Conflict(_("This CAP sender is registered already."), code="duplicate_sender")
        sender = AlertSender.objects.create(name=name, cap_sender=cap_sender, unit=unit, token_hash=token_hash(token))
        record_event(
            "alerts.sender_added", actor=acting_user, obj=sender, unit=unit, changes={"cap_sender": cap_sender}
        )
    return sender, token


def do_set_alert_rule(unit: Unit, approvals_required: int | None, *, acting_user) -> AlertRule | None:
    """Set how many people approve the unit's alerts (None: remove the unit's rule, the one above applies)."""
    require(acting_user, Capability.MANAGE_UNITS, unit)
    if approvals_required not in (None, 1, 2):
        raise _fail("approvals_required", _("One approver, or two different people."))
    with transaction.atomic():
        before = approvals_required_at(unit)
        if approvals_required is None:
            AlertRule.objects.filter(unit=unit).delete()
            rule = None
        else:
            rule, _created = AlertRule.objects.update_or_create(
                unit=unit, defaults={"approvals_required": approvals_required}
            )
        record_event(
            "alerts.rule_set", actor=acting_user, obj=unit, unit=unit,
            changes={"approvals_required": [before, approvals_required]},
        )  # fmt: skip
    return rule


def approvals_required_at(unit: Unit) -> int | None:
    """The unit's own rule, if it has one."""
    return AlertRule.objects.filter(unit=unit).values_list("approvals_required", flat=True).first()


def do_update_sender(sender, *, name: str, is_active: bool, acting_user):
    """Rename a trusted sender or switch it off (its token stops working at once)."""
    require(acting_user, Capability.MANAGE_UNITS, sender.unit)
    with transaction.atomic():
        changes = {k: [getattr(sender, k), v] for k, v in (("name", name), ("is_active", is_active))
                   if getattr(sender, k) != v}  # fmt: skip
        type(sender).objects.filter(pk=sender.pk).update(name=name, is_active=is_active)
        record_event("alerts.sender_updated", actor=acting_user, obj=sender, unit=sender.unit, changes=changes)
    sender.name, sender.is_active = name, is_active
    return sender
