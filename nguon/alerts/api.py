"""The alerts API (/api/v1/alerts): staff list, compose, approve, cancel, follow delivery, export CAP; and the
CAP intake trusted senders POST to (`/api/v1/alerts/cap`, bearer token of an AlertSender, no session)."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Status
from ninja.security import HttpBearer

from nguon.accounts.access import get_unit_for_user
from nguon.accounts.roles import Capability
from nguon.alerts import actions, delivery, export, importer, reach
from nguon.alerts.access import alerts_for_user, get_alert_for_user
from nguon.alerts.models import Alert, AlertSender, Origin
from nguon.broadcast.actions import token_hash
from nguon.core.errors import Invalid, TooLarge
from nguon.core.schemas import ERRORS, ErrorOut, Schema
from nguon.units.models import Unit

router = Router(tags=["alerts"])
MAX_CAP_BYTES = 2 * 1024 * 1024
CAP_TYPE = "application/cap+xml"


class SenderToken(HttpBearer):
    """`Authorization: Bearer ncap_…` of a trusted sender; `request.auth` is the AlertSender."""

    def authenticate(self, request, token: str) -> AlertSender | None:
        return AlertSender.objects.select_related("unit").filter(token_hash=token_hash(token), is_active=True).first()


class AlertOut(Schema):
    id: int
    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    state: str
    unit_code: str = Field(..., alias="unit.code")
    event: str
    urgency: str
    severity: str
    certainty: str
    risk_level: int | None
    headline: str
    description: str
    instruction: str
    onset: datetime | None
    expires: datetime | None
    area_desc: str
    polygons: list
    circles: list
    replaces_id: int | None
    audio_state: str
    issued_at: datetime | None
    import_warnings: list[str]


class AlertIn(Schema):
    unit: str = Field(..., description="Official code of the issuing unit")
    status: str = "Actual"
    msg_type: str = "Alert"
    replaces: int | None = Field(
        None, description="For an Update or a Cancel: the alert it changes (awaiting approval: it is withdrawn)"
    )
    note: str = Field("", description="Why (a Cancel's or an Update's reason, shown to the approver)")
    event: str
    categories: list[str]
    response_types: list[str] = []
    urgency: str
    severity: str
    certainty: str
    risk_level: int | None = Field(None, description="Disaster risk level 1–5 (QĐ 18/2021/QĐ-TTg)")
    headline: str
    description: str = ""
    instruction: str = ""
    headline_en: str = ""
    description_en: str = ""
    instruction_en: str = ""
    onset: datetime | None = None
    expires: datetime
    area_desc: str = ""
    area_units: list[str] = Field([], description="Official codes of the units in the area")
    polygons: list[list[list[float]]] = []
    circles: list[list[float]] = []
    repeat: int | None = None
    issue_now: bool = False


class NoteIn(Schema):
    note: str = ""


class DeliveryOut(Schema):
    total: int
    by_state: dict[str, int]
    by_unit: list[dict]


def _alert(request, alert_id: int) -> Alert:
    return get_alert_for_user(request.user, alert_id)


@router.get("", response=list[AlertOut])
def list_alerts(request, state: str | None = None, limit: int = 100):
    alerts = alerts_for_user(request.user)
    if state:
        alerts = alerts.filter(state=state)
    return list(alerts[: max(1, min(limit, 500))])


@router.post("", response={201: AlertOut, **ERRORS})
def create_alert(request, payload: AlertIn):
    unit = get_unit_for_user(request.user, payload.unit, Capability.ISSUE_ALERTS)
    data = payload.dict(exclude={"unit", "issue_now", "replaces", "area_units"})
    data["area_units"] = list(Unit.objects.filter(code__in=payload.area_units))
    unknown = set(payload.area_units) - {u.code for u in data["area_units"]}
    if unknown:
        message = _("No unit with these codes: %(codes)s") % {"codes": ", ".join(sorted(unknown))}
        raise Invalid(message, code="unknown_unit", fields={"area_units": [message]})
    if payload.replaces is not None:
        data["replaces"] = _alert(request, payload.replaces)
    alert = actions.do_create_alert(data, unit=unit, acting_user=request.user, issue_now=payload.issue_now)
    return Status(201, alert)


@router.get("/{int:alert_id}", response=AlertOut)
def get_alert(request, alert_id: int):
    return _alert(request, alert_id)


@router.post("/{int:alert_id}/approve", response={200: AlertOut, **ERRORS})
def approve(request, alert_id: int):
    return actions.do_approve(_alert(request, alert_id), acting_user=request.user)


@router.post("/{int:alert_id}/reject", response={200: AlertOut, **ERRORS})
def reject(request, alert_id: int, payload: NoteIn):
    return actions.do_reject(_alert(request, alert_id), acting_user=request.user, comment=payload.note)


@router.post("/{int:alert_id}/cancel", response={201: AlertOut, **ERRORS})
def cancel(request, alert_id: int, payload: NoteIn):
    return Status(201, actions.do_cancel(_alert(request, alert_id), acting_user=request.user, note=payload.note))


@router.get("/{int:alert_id}/delivery", response=DeliveryOut)
def delivery_counts(request, alert_id: int):
    found = delivery.counts(_alert(request, alert_id))
    units = [{"code": code, "name": name, **states} for (code, name), states in found["by_unit"].items()]
    return {"total": found["total"], "by_state": found["by_state"], "by_unit": units}


class UnitReachOut(Schema):
    code: str
    name: str
    speakers: int
    boards: int
    total: int


class ReachOut(Schema):
    total: int
    speakers: int
    boards: int
    by_unit: list[UnitReachOut]
    warnings: list[str]


@router.get("/{int:alert_id}/reach", response=ReachOut, summary="What the alert would reach if issued now")
def alert_reach(request, alert_id: int):
    """Devices per commune that the alert would reach if it were issued now, and warnings for the approver (an area
    that reaches no device, or lies outside the issuing unit)."""
    return reach.assess(_alert(request, alert_id)).as_dict()


@router.get("/{int:alert_id}/cap", openapi_extra={"responses": {200: {"content": {CAP_TYPE: {}}}}})
def cap_document(request, alert_id: int):
    return HttpResponse(export.cap_xml(_alert(request, alert_id)), content_type=CAP_TYPE)


def _too_large() -> TooLarge:
    message = _("A CAP document may be at most 2 MiB.")
    return TooLarge(message, fields={"body": [message]})


def _body(request) -> bytes:
    """The CAP document, refused with 413 `too_large` over 2 MiB: by its declared length before anything is read,
    else while reading (a body without Content-Length), and never through Django's own limit and its HTML 400."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_CAP_BYTES:
        raise _too_large()
    try:
        body = request.read(MAX_CAP_BYTES + 1)
    except RequestDataTooBig:
        raise _too_large() from None
    if len(body) > MAX_CAP_BYTES:
        raise _too_large()
    return body


@router.post("/import", response={201: AlertOut, 413: ErrorOut, **ERRORS}, summary="Import a CAP 1.2 document (staff)")
def import_document(request, unit: str):
    """The request body is the CAP XML; the alert waits for approval at `unit`."""
    target = get_unit_for_user(request.user, unit, Capability.ISSUE_ALERTS)
    return Status(201, importer.import_cap(_body(request), unit=target, acting_user=request.user))


@router.post(
    "/cap",
    auth=SenderToken(),
    response={201: AlertOut, 413: ErrorOut, **ERRORS},
    summary="CAP intake for trusted senders",
)
def receive_cap(request):
    """A trusted sender (bearer token) POSTs a CAP 1.2 document; it waits for approval at the sender's unit."""
    sender: AlertSender = request.auth
    alert = importer.import_cap(_body(request), unit=sender.unit, sender=sender, origin=Origin.HTTP)
    return Status(201, alert)
