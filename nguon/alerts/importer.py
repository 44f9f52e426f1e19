"""CAP 1.2 documents in: a file an officer uploads, or a POST from a trusted sender (the national disaster agency).

Real feeds are imperfect, so what can be understood is accepted and what was guessed is kept as warnings on the
alert; what cannot be (not CAP, an XML bomb, no identifier, a Cancel for an alert we never had, an expiry already
passed, a sender that is not trusted) is refused with every reason, and nothing is saved. Imported alerts wait
for approval like composed ones: approvers see the warnings before anything plays.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from nguon.alerts import cap
from nguon.alerts.actions import do_create_alert
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


def _pick_infos(message: cap.CapMessage) -> tuple[cap.Info | None, cap.Info | None]:
    """The Vietnamese <info> (or the first one), and an English one beside it."""
    main, english = cap.pick_info(message, "vi"), cap.pick_info(message, "en")
    if english is main or english is None or not english.language.lower().startswith("en"):
        english = None
    return main, english


def _referenced(message: cap.CapMessage, unit: Unit, warnings: list[str]) -> Alert | None:
    identifiers = [r.identifier for r in message.references]
    found = Alert.objects.filter(identifier__in=identifiers, unit__path__startswith=unit.path).order_by("-sent").first()
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


def alert_data(message: cap.CapMessage, unit: Unit, warnings: list[str]) -> dict:
    main, english = _pick_infos(message)
    if main is None:
        if message.msg_type != "Cancel":
            raise Invalid(_("The alert has no <info> block: nothing to say or show."), code="no_info")
        main = cap.Info(categories=["Other"], event="", urgency="Unknown", severity="Unknown", certainty="Unknown")
    polygons = [[list(p) for p in ring] for area in main.areas for ring in area.polygons]
    circles = [list(c) for area in main.areas for c in area.circles]
    geocodes = [list(g) for area in main.areas for g in area.geocodes]
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
        "language": main.language,
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
        "area_desc": "; ".join(a.area_desc for a in main.areas if a.area_desc)[:500],
        "area_units": units,
        "polygons": polygons,
        "circles": circles,
        "geocodes": geocodes,
    }


def import_cap(
    data: bytes, *, unit: Unit, acting_user=None, sender: AlertSender | None = None, origin: str = Origin.FILE
) -> Alert:
    """Create the alert a CAP document carries, awaiting approval at `unit`. Raises Invalid, Forbidden, Conflict."""
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
    if Alert.objects.filter(identifier=message.identifier).exists():
        raise Conflict(_("This alert was received already (same identifier)."), code="duplicate_identifier")
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
        warnings=warnings,
        area_required=False,
    )
