"""Emergency alerts (CAP 1.2): the alert as composed or imported, its approvals, and its delivery to each device.

One Alert row is one CAP message. An Update or a Cancel is a new row that `replaces` the earlier one, as CAP's
`references` say; the earlier row then stops being current (state superseded or cancelled). A Cancel or Update
that names an alert still awaiting approval withdraws it instead (state withdrawn): it never reaches a device.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nguon.alerts.cap import reference_string
from nguon.core.collation import vi


class CapStatus(models.TextChoices):
    ACTUAL = "Actual", _("Actual")
    EXERCISE = "Exercise", _("Exercise (drill)")
    TEST = "Test", _("Test")
    SYSTEM = "System", _("System")
    DRAFT = "Draft", _("Draft")


DRILL_STATUSES = (CapStatus.EXERCISE, CapStatus.TEST)


class MsgType(models.TextChoices):
    ALERT = "Alert", _("Alert")
    UPDATE = "Update", _("Update")
    CANCEL = "Cancel", _("Cancel")
    ACK = "Ack", _("Acknowledgement")
    ERROR = "Error", _("Error")


class Scope(models.TextChoices):
    PUBLIC = "Public", _("Public")
    RESTRICTED = "Restricted", _("Restricted")
    PRIVATE = "Private", _("Private (named addresses)")


class Urgency(models.TextChoices):
    IMMEDIATE = "Immediate", _("Immediate")
    EXPECTED = "Expected", _("Expected")
    FUTURE = "Future", _("Future")
    PAST = "Past", _("Past")
    UNKNOWN = "Unknown", _("Unknown")


class Severity(models.TextChoices):
    EXTREME = "Extreme", _("Extreme")
    SEVERE = "Severe", _("Severe")
    MODERATE = "Moderate", _("Moderate")
    MINOR = "Minor", _("Minor")
    UNKNOWN = "Unknown", _("Unknown")


class Certainty(models.TextChoices):
    OBSERVED = "Observed", _("Observed")
    LIKELY = "Likely", _("Likely")
    POSSIBLE = "Possible", _("Possible")
    UNLIKELY = "Unlikely", _("Unlikely")
    UNKNOWN = "Unknown", _("Unknown")


class Category(models.TextChoices):
    GEO = "Geo", _("Geophysical (landslide, earthquake)")
    MET = "Met", _("Meteorological (storm, flood)")
    SAFETY = "Safety", _("General safety")
    SECURITY = "Security", _("Security")
    RESCUE = "Rescue", _("Rescue and recovery")
    FIRE = "Fire", _("Fire (forest fire)")
    HEALTH = "Health", _("Health (epidemic)")
    ENV = "Env", _("Pollution and environment")
    TRANSPORT = "Transport", _("Transport")
    INFRA = "Infra", _("Utilities and infrastructure")
    CBRNE = "CBRNE", _("Chemical, biological, radiological")
    OTHER = "Other", _("Other")


class ResponseType(models.TextChoices):
    SHELTER = "Shelter", _("Shelter in place")
    EVACUATE = "Evacuate", _("Evacuate")
    PREPARE = "Prepare", _("Prepare")
    EXECUTE = "Execute", _("Execute a planned action")
    AVOID = "Avoid", _("Avoid the area")
    MONITOR = "Monitor", _("Monitor information sources")
    ASSESS = "Assess", _("Assess the situation")
    ALL_CLEAR = "AllClear", _("All clear")
    NONE = "None", _("No action")


class AlertState(models.TextChoices):
    PENDING = "pending", _("Awaiting approval")
    ISSUED = "issued", _("Issued")
    REJECTED = "rejected", _("Rejected")
    SUPERSEDED = "superseded", _("Updated by a later message")
    CANCELLED = "cancelled", _("Cancelled")
    # Taken out of the approval queue by a later Cancel or Update before anyone approved it: never sent, and it
    # can never be approved afterwards.
    WITHDRAWN = "withdrawn", _("Withdrawn before approval")


class RiskLevel(models.IntegerChoices):
    """Disaster risk levels (cấp độ rủi ro thiên tai) of QĐ 18/2021/QĐ-TTg, carried beside CAP's severity."""

    LEVEL_1 = 1, _("Level 1: small risk")
    LEVEL_2 = 2, _("Level 2: medium risk")
    LEVEL_3 = 3, _("Level 3: large risk")
    LEVEL_4 = 4, _("Level 4: very large risk")
    LEVEL_5 = 5, _("Level 5: disaster")


# The CAP <parameter> that carries the risk level (valueName; the value is the level's number).
RISK_LEVEL_PARAMETER = "CapDoRuiRoThienTai"


class Origin(models.TextChoices):
    COMPOSED = "composed", _("Composed here")
    FILE = "file", _("Imported from a file")
    HTTP = "http", _("Received from a trusted sender")


class AudioState(models.TextChoices):
    NONE = "none", _("No audio")
    RENDERING = "rendering", _("Rendering")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


CURRENT_TYPES = (MsgType.ALERT, MsgType.UPDATE)  # a Cancel is issued too, but nothing plays it
PUBLISHED_STATES = (AlertState.ISSUED, AlertState.SUPERSEDED, AlertState.CANCELLED)  # issued, whatever came next
FEED_KEEP = timedelta(hours=48)  # how long an ended alert, and a Cancel, stay in the public Atom feed


class AlertSender(models.Model):
    """A system trusted to send CAP messages to the HTTP endpoint (the national disaster agency, say)."""

    name = models.CharField(_("name"), max_length=200)
    cap_sender = models.CharField(
        _("CAP sender"), max_length=255, unique=True, help_text=_("The <sender> value its messages carry.")
    )
    unit = models.ForeignKey(
        "units.Unit",
        on_delete=models.PROTECT,
        related_name="alert_senders",
        verbose_name=_("unit"),
        help_text=_("Its alerts may reach devices in this unit and below, and are approved there."),
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = [vi("name")]
        verbose_name = _("trusted alert sender")
        verbose_name_plural = _("trusted alert senders")

    def __str__(self) -> str:
        return self.name


class AlertRule(models.Model):
    """How many different people must approve an alert issued by a unit (the nearest rule above applies)."""

    unit = models.OneToOneField(
        "units.Unit", on_delete=models.CASCADE, related_name="alert_rule", verbose_name=_("unit")
    )
    approvals_required = models.PositiveSmallIntegerField(
        _("approvals required"), choices=[(1, _("One approver")), (2, _("Two different people"))], default=1
    )

    class Meta:
        verbose_name = _("alert approval rule")
        verbose_name_plural = _("alert approval rules")

    def __str__(self) -> str:
        return f"{self.unit}: {self.approvals_required}"


class AlertQuerySet(models.QuerySet):
    def current(self, now=None):
        """Issued, not updated or cancelled since, not expired: what devices should be playing or showing."""
        now = now or timezone.now()
        return self.filter(state=AlertState.ISSUED, msg_type__in=CURRENT_TYPES).filter(
            Q(expires__isnull=True) | Q(expires__gt=now)
        )

    def public(self, now=None):
        """Current real alerts for everyone: the public page."""
        return self.current(now).filter(status=CapStatus.ACTUAL, scope=Scope.PUBLIC)

    def published(self):
        """Real public messages that were issued, whatever happened since: their CAP documents stay fetchable (a
        Cancel or an Update points at them), and the Atom feed is taken from them."""
        return self.filter(
            status=CapStatus.ACTUAL, scope=Scope.PUBLIC, state__in=PUBLISHED_STATES, issued_at__isnull=False
        ).exclude(
            # A Cancel that withdrew an alert before anyone approved it cancels nothing the public saw.
            Q(msg_type=MsgType.CANCEL) & (Q(replaces__isnull=True) | Q(replaces__issued_at__isnull=True))
        )

    def in_feed(self, now=None, keep=FEED_KEEP):
        """What the public Atom feed lists: current alerts, and for `keep` after they ended (Google Public Alerts
        asks for 24–48 hours) the expired, updated and cancelled ones and the Cancel messages themselves."""
        now = now or timezone.now()
        since = now - keep
        # Without an expiry an alert never meets Google's rules: only the recent ones are even looked at.
        current_or_recent = Q(state=AlertState.ISSUED, msg_type__in=CURRENT_TYPES) & (
            Q(expires__isnull=True, issued_at__gt=since) | Q(expires__gt=since)
        )
        cancels = Q(state=AlertState.ISSUED, msg_type=MsgType.CANCEL, issued_at__gt=since)
        replaced = Q(state__in=(AlertState.SUPERSEDED, AlertState.CANCELLED), closed_at__gt=since)
        return self.published().filter(current_or_recent | cancels | replaced)


class Alert(models.Model):
    unit = models.ForeignKey("units.Unit", on_delete=models.PROTECT, related_name="alerts", verbose_name=_("unit"))
    # Unique per sender, not globally (see Meta.constraints): another sender's identifiers are theirs to choose.
    identifier = models.CharField(_("identifier"), max_length=255, db_index=True)
    sender = models.CharField(_("sender"), max_length=255)
    sent = models.DateTimeField(_("sent"))
    status = models.CharField(_("status"), max_length=10, choices=CapStatus.choices, default=CapStatus.ACTUAL)
    msg_type = models.CharField(_("message type"), max_length=10, choices=MsgType.choices, default=MsgType.ALERT)
    scope = models.CharField(_("scope"), max_length=12, choices=Scope.choices, default=Scope.PUBLIC)
    source = models.CharField(_("source"), max_length=255, blank=True)
    note = models.TextField(_("note"), blank=True)
    references = models.JSONField(_("references"), default=list, blank=True)
    replaces = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaced_by", verbose_name=_("replaces")
    )

    # The main <info> (Vietnamese), and the English one when there is one.
    language = models.CharField(_("language"), max_length=10, default="vi-VN")
    categories = models.JSONField(_("categories"), default=list)
    event = models.CharField(_("event"), max_length=200)
    response_types = models.JSONField(_("response"), default=list, blank=True)
    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    certainty = models.CharField(_("certainty"), max_length=10, choices=Certainty.choices)
    risk_level = models.PositiveSmallIntegerField(
        _("disaster risk level"), choices=RiskLevel.choices, null=True, blank=True
    )
    sender_name = models.CharField(_("sender name"), max_length=255, blank=True)
    headline = models.CharField(_("headline"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    instruction = models.TextField(_("instruction"), blank=True)
    web = models.URLField(_("web page"), blank=True)
    contact = models.CharField(_("contact"), max_length=255, blank=True)
    event_en = models.CharField(_("event (English)"), max_length=200, blank=True)
    headline_en = models.CharField(_("headline (English)"), max_length=300, blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    instruction_en = models.TextField(_("instruction (English)"), blank=True)
    effective = models.DateTimeField(_("effective"), null=True, blank=True)
    onset = models.DateTimeField(_("onset"), null=True, blank=True)
    expires = models.DateTimeField(_("expires"), null=True, blank=True)

    # The area: units (every device in them), and/or shapes (devices whose coordinates fall inside).
    area_desc = models.CharField(_("area"), max_length=500, blank=True)
    area_units = models.ManyToManyField("units.Unit", blank=True, related_name="+", verbose_name=_("units"))
    polygons = models.JSONField(_("polygons"), default=list, blank=True)  # [[[lat, lon], …], …], closed rings
    circles = models.JSONField(_("circles"), default=list, blank=True)  # [[lat, lon, radius_km], …]
    geocodes = models.JSONField(_("geocodes"), default=list, blank=True)  # [[valueName, value], …]

    # Sound
    repeat = models.PositiveSmallIntegerField(_("times the message is read"), default=2)
    audio_state = models.CharField(max_length=10, choices=AudioState.choices, default=AudioState.NONE)
    audio_error = models.TextField(blank=True)
    speech = models.ForeignKey(
        "speech.SpeechRender", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    audio = models.ForeignKey("content.MediaAsset", on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    # Workflow
    state = models.CharField(_("state"), max_length=12, choices=AlertState.choices, default=AlertState.PENDING)
    origin = models.CharField(_("origin"), max_length=10, choices=Origin.choices, default=Origin.COMPOSED)
    cap_sender = models.ForeignKey(AlertSender, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    import_warnings = models.JSONField(default=list, blank=True)
    original_xml = models.TextField(blank=True)
    # A received message as parsed (cap/serial.py): every info, area, parameter and resource, times as written.
    # Its CAP document is written from this, never from the fields above. Null for alerts composed here.
    received = models.JSONField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # Why a later Cancel or Update withdrew it while it awaited approval (the note that message gave, if any).
    withdrawn_reason = models.TextField(_("reason for withdrawal"), blank=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-sent", "-id"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        indexes = [models.Index(fields=["state", "expires"])]
        constraints = [
            # Composed here and received from a trusted sender (its token vouches for <sender>): one message per
            # (sender, identifier). A file a staff member imports proves nothing about its sender, so it is unique
            # within its unit only and never blocks the real message from the trusted sender's link.
            models.UniqueConstraint(
                fields=["sender", "identifier"], condition=~Q(origin=Origin.FILE), name="alert_identifier_per_sender"
            ),
            models.UniqueConstraint(
                fields=["unit", "sender", "identifier"],
                condition=Q(origin=Origin.FILE),
                name="alert_file_identifier_per_unit",
            ),
        ]

    def __str__(self) -> str:
        return self.headline

    @property
    def is_drill(self) -> bool:
        return self.status in DRILL_STATUSES

    def is_expired(self, now=None) -> bool:
        return self.expires is not None and self.expires <= (now or timezone.now())

    def is_current(self, now=None) -> bool:
        """The row-level form of `Alert.objects.current()`."""
        return self.state == AlertState.ISSUED and self.msg_type in CURRENT_TYPES and not self.is_expired(now)

    def is_published(self) -> bool:
        """The row-level form of `Alert.objects.published()` for the alert itself (its CAP document is public)."""
        return (
            self.status == CapStatus.ACTUAL
            and self.scope == Scope.PUBLIC
            and self.state in PUBLISHED_STATES
            and self.issued_at is not None
        )

    def reference(self) -> str:
        """ "sender,identifier,sent" with `sent` as the CAP document writes it (the sender's text, else local time)."""
        sent = (self.received or {}).get("sent") or timezone.localtime(self.sent, timezone.get_default_timezone())
        return reference_string(self.sender, self.identifier, sent)


class AlertApproval(models.Model):
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="approvals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at"]
        constraints = [models.UniqueConstraint(fields=["alert", "user"], name="alert_approval_once_per_person")]


class DispatchState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    PLAYED = "played", _("Played")
    # An e-board showed the overlay (boards have no audio to play): as delivered as `played` is for a loudspeaker.
    DISPLAYED = "displayed", _("Displayed")
    FAILED = "failed", _("Failed")


# The states in which the device has the alert: counted as delivered on the delivery page.
DELIVERED_STATES = (DispatchState.ACKNOWLEDGED, DispatchState.PLAYED, DispatchState.DISPLAYED)

# A state only moves forward: a late "acknowledged" after "played" changes nothing.
DISPATCH_RANK = {
    DispatchState.QUEUED: 0,
    DispatchState.SENT: 1,
    DispatchState.ACKNOWLEDGED: 2,
    DispatchState.FAILED: 3,
    DispatchState.PLAYED: 4,
    DispatchState.DISPLAYED: 4,
}


class AlertDispatch(models.Model):
    """One alert on one device. Unique per (alert, device): dispatching again changes nothing."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="dispatches")
    device = models.ForeignKey("broadcast.Device", on_delete=models.CASCADE, related_name="alert_dispatches")
    state = models.CharField(max_length=12, choices=DispatchState.choices, default=DispatchState.QUEUED)
    event_id = models.BigIntegerField(null=True, blank=True)
    queued_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    played_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["alert", "device"], name="alert_dispatch_once_per_device")]
        indexes = [models.Index(fields=["alert", "state"])]


class AlertReceipt(models.Model):
    """An `alert` report record as the device sent it (unique on device and seq, like every report record)."""

    device = models.ForeignKey("broadcast.Device", on_delete=models.CASCADE, related_name="+")
    seq = models.BigIntegerField()
    alert_id = models.BigIntegerField()
    state = models.CharField(max_length=12)
    at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "seq"], name="alert_receipt_unique_seq")]
