"""CAP 1.2 documents in: a file an officer uploads, or a POST from a trusted sender (the national disaster agency).

Real feeds are imperfect, so what can be understood is accepted and what was guessed is kept as warnings on the
alert; what cannot be (not CAP, an XML bomb, no identifier, a Cancel for an alert we never had, an expiry already
passed, a sender that is not trusted) is refused with every reason, and nothing is saved. Imported alerts wait
for approval like composed ones: approvers see the warnings before anything plays.

The message is kept as parsed (`Alert.received`, cap/serial.py) and its CAP document is written from that: every
info, area, parameter and resource as the sender wrote it, nothing added. Identifiers are unique per sender. A file
proves nothing about who wrote it, so a staff import may not carry the address of a trusted sender or of this
system, and a duplicate is reported only when the earlier copy lies within the importer's units.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from nguon.accounts.access import require, scope_to_user
from nguon.accounts.roles import Capability
from nguon.alerts import cap
from nguon.alerts.actions import default_sender, do_create_alert
from nguon.alerts.cap import serial
from nguon.alerts.models import RISK_LEVEL_PARAMETER, Alert, AlertSender, Origin
from nguon.core.errors import Conflict, Forbidden, Invalid
from nguon.units.models import Unit

SUPPORTED_MSG_TYPES = ("Alert", "Update", "Cancel")


def _problems_as_fields(problems) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for problem in problems:
        fields.setdefault(problem.path or "alert", []).append(f"{problem.code}: {problem.text()}")
    return fields


def parse_or_refuse(data: bytes) -> cap.ParseResult:
    try:
        return cap.parse(data)
    except cap.CapError as exc:
        reasons = "; ".join(p.text() for p in exc.problems)
        raise Invalid(
            _("This is not a CAP 1.2 alert we can use: %(reasons)s") % {"reasons": reasons},
            code="invalid_cap",
            fields=_problems_as_fields(exc.problems),
        )


def _referenced(message: cap.CapMessage, unit: Unit, warnings: list[str]) -> Alert | None:
    """The latest alert the message refers to, by (sender, identifier), within the unit's subtree."""
    wanted = {(r.sender, r.identifier) for r in message.references}
    identifiers = sorted({identifier for _sender, identifier in wanted})
    candidates = Alert.objects.filter(identifier__in=identifiers, unit__path__startswith=unit.path)
    matches = [a for a in candidates.select_related("unit") if (a.sender, a.identifier) in wanted]
    # A message whose sender was vouched for (composed here, or from a trusted sender) before a staff import.
    matches.sort(key=lambda a: (a.origin == Origin.FILE, -a.sent.timestamp()))
    found = matches[0] if matches else None
    if found is None and message.msg_type == "Update":
        warnings.append(_("This update refers to alerts never received here; it is taken as a new alert."))
        return None
    if found is None:
        raise Invalid(
            _("This %(type)s refers to alerts this system never received: %(refs)s")
            % {"type": message.msg_type, "refs": ", ".join(identifiers) or "—"},
            code="unknown_reference",
            fields={"references": [", ".join(identifiers)]},
        )
    return found


def risk_level(info: cap.Info, warnings: list[str]) -> int | None:
    """The disaster risk level a sender gave as <parameter> CapDoRuiRoThienTai (1–5), if any."""
    for name, value in info.parameters:
        if name.strip().lower() != RISK_LEVEL_PARAMETER.lower():
            continue
        if value.strip() in ("1", "2", "3", "4", "5"):
            return int(value)
        warnings.append(
            _("The disaster risk level “%(value)s” is not a level from 1 to 5; it was left out.") % {"value": value}
        )
    return None


def _unique_areas(message: cap.CapMessage, main: cap.Info) -> list[cap.Area]:
    """The areas of every info (translations usually repeat the same one), the main info's first, each once."""
    areas: list[cap.Area] = []
    for info in [main, *(i for i in message.infos if i is not main)]:
        for area in info.areas:
            if area not in areas:
                areas.append(area)
    return areas


def _once(items: list) -> list:
    return [item for i, item in enumerate(items) if item not in items[:i]]


def alert_data(message: cap.CapMessage, unit: Unit, warnings: list[str]) -> dict:
    main, english = cap.main_infos(message)
    if main is None:
        if message.msg_type != "Cancel":
            raise Invalid(_("The alert has no <info> block: nothing to say or show."), code="no_info")
        main = cap.Info(categories=["Other"], event="", urgency="Unknown", severity="Unknown", certainty="Unknown")
    areas = _unique_areas(message, main)
    polygons = _once([[list(p) for p in ring] for area in areas for ring in area.polygons])
    circles = _once([list(c) for area in areas for c in area.circles])
    geocodes = _once([list(g) for area in areas for g in area.geocodes])
    codes = {value for _name, value in geocodes}
    units = list(Unit.objects.filter(code__in=codes, path__startswith=unit.path)) if codes else []
    unmatched = codes - {u.code for u in units}
    if unmatched:
        warnings.append(_("Geocodes that name no unit here: %(codes)s") % {"codes": ", ".join(sorted(unmatched))})
    if not (polygons or circles or units):
        warnings.append(_("The area names no unit or shape here: no device will be reached."))
    if main.expires is None:
        warnings.append(_("The alert has no expiry: devices keep it for six hours, and public feeds leave it out."))
    return {
        "status": message.status,
        "msg_type": message.msg_type,
        "scope": message.scope,
        "source": message.source,
        "note": message.note,
        "language": cap.language_of(main),
        "categories": main.categories,
        "event": main.event or (english.event if english else ""),
        "response_types": main.response_types,
        "urgency": main.urgency,
        "severity": main.severity,
        "certainty": main.certainty,
        "risk_level": risk_level(main, warnings),
        "sender_name": main.sender_name,
        "headline": main.headline or main.event,
        "description": main.description,
        "instruction": main.instruction,
        "web": main.web if main.web.startswith(("http://", "https://")) else "",
        "contact": main.contact,
        "event_en": english.event if english else "",
        "headline_en": english.headline if english else "",
        "description_en": english.description if english else "",
        "instruction_en": english.instruction if english else "",
        "effective": main.effective,
        "onset": main.onset,
        "expires": main.expires,
        "area_desc": "; ".join(_once([a.area_desc for a in main.areas if a.area_desc]))[:500],
        "area_units": units,
        "polygons": polygons,
        "circles": circles,
        "geocodes": geocodes,
    }


def _refuse_reserved_sender(address: str) -> None:
    """A file may not speak as a trusted sender (its messages come through its own link) or as this system."""
    if address == default_sender() or AlertSender.objects.filter(cap_sender=address).exists():
        raise Forbidden(
            _(
                "The document says it comes from %(sender)s, whose alerts reach this system only through their own "
                "link; a file cannot stand in for them. Compose the alert instead."
            )
            % {"sender": address},
            code="reserved_sender",
        )


def _refuse_duplicate(message: cap.CapMessage, *, unit: Unit, acting_user, verified: bool) -> None:
    """409 when the same (sender, identifier) is here already, looking only where the importer may look."""
    same = Alert.objects.filter(sender=message.sender, identifier=message.identifier)
    if verified:
        same = same.exclude(origin=Origin.FILE)  # a trusted sender's own messages; files never block them
    elif acting_user is not None:
        same = scope_to_user(same, acting_user)
    else:
        same = same.filter(unit__path__startswith=unit.path)
    if same.exists():
        raise Conflict(_("This alert was received already (same sender and identifier)."), code="duplicate_identifier")


def import_cap(
    data: bytes, *, unit: Unit, acting_user=None, sender: AlertSender | None = None, origin: str = Origin.FILE
) -> Alert:
    """Create the alert a CAP document carries, awaiting approval at `unit`. Raises Invalid, Forbidden, Conflict."""
    if acting_user is not None:
        require(acting_user, Capability.ISSUE_ALERTS, unit)  # before anything about other alerts is looked up
    result = parse_or_refuse(data)
    message = result.message
    warnings = [p.text() for p in result.warnings]
    if sender is not None and (not sender.is_active or message.sender != sender.cap_sender):
        raise Forbidden(
            _("The document's sender %(sender)s is not the trusted sender this token belongs to.")
            % {"sender": message.sender},
            code="untrusted_sender",
        )
    if message.msg_type not in SUPPORTED_MSG_TYPES:
        raise Invalid(
            _("%(type)s messages are not taken in; send an Alert, an Update or a Cancel.") % {"type": message.msg_type},
            code="unsupported_msg_type",
        )
    if sender is None:
        _refuse_reserved_sender(message.sender)
    _refuse_duplicate(message, unit=unit, acting_user=acting_user, verified=sender is not None)
    fields = alert_data(message, unit, warnings)
    if message.msg_type in ("Update", "Cancel"):
        fields["replaces"] = _referenced(message, unit, warnings)
    return do_create_alert(
        fields,
        unit=unit,
        acting_user=acting_user,
        origin=origin,
        cap_sender=sender,
        identifier=message.identifier,
        sender=message.sender,
        sent=message.sent,
        references=[f"{r.sender},{r.identifier},{r.sent}" for r in message.references],
        original_xml=data.decode("utf-8", errors="replace"),
        received=serial.to_data(message),
        warnings=warnings,
        area_required=False,
    )
