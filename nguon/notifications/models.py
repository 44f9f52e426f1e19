"""Notifications: one row per recipient and event, and one delivery row per outside channel (e-mail, …)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    ALERT_PENDING = "alert_pending", _("An alert awaits approval")
    ALERT_WITHDRAWN = "alert_withdrawn", _("A pending alert was withdrawn")
    ALERT_ISSUED = "alert_issued", _("An alert you wrote was issued")
    ALERT_REJECTED = "alert_rejected", _("An alert you wrote was rejected")
    BULLETIN_SUBMITTED = "bulletin_submitted", _("A bulletin awaits approval")
    BULLETIN_RETURNED = "bulletin_returned", _("Your bulletin was returned for changes")
    BULLETIN_APPROVED = "bulletin_approved", _("Your bulletin was approved")
    DEADLINE = "deadline", _("A deadline is near")
    DEVICES_OFFLINE = "devices_offline", _("Devices went offline")
    FEEDBACK_RECEIVED = "feedback_received", _("New feedback from a citizen")
    FEEDBACK_ASSIGNED = "feedback_assigned", _("Feedback assigned to you")
    FEEDBACK_DRAFTED = "feedback_drafted", _("An answer to feedback awaits approval")
    FEEDBACK_RETURNED = "feedback_returned", _("Your answer to feedback was returned")
    FEEDBACK_REOPENED = "feedback_reopened", _("A citizen reopened feedback")
    FEEDBACK_DUE = "feedback_due", _("Feedback is due or overdue")


# Kinds that sound in the recipient's open back-office pages (see static/nguon/notifications.js).
SOUNDING_KINDS = frozenset({Kind.ALERT_PENDING})


class NotificationQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(recipient=user)

    def unread(self):
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """Something a person should know or do. Text is stored as written at the time (the object may change)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("recipient")
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=300)
    body = models.TextField(_("message"), blank=True)
    # A path inside the back office (never an outside address): the page that deals with it.
    link = models.CharField(_("link"), max_length=500, blank=True)
    unit = models.ForeignKey(
        "units.Unit", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("unit")
    )
    # Identifies the event ("alert_pending:42"): a recipient gets one notification per key, and resolve(key)
    # marks it read everywhere once someone has dealt with it.
    key = models.CharField(max_length=200, blank=True)
    sound = models.BooleanField(_("sounds"), default=False)
    # What a later event needs to add to this one (e.g. {"device_ids": [...]} for devices gone offline).
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread")]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "key"], condition=~Q(key=""), name="notification_once_per_key")
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    def email_state(self) -> str | None:
        """The state of the e-mail delivery, None when no e-mail was due."""
        for delivery in self.deliveries.all():
            if delivery.channel == "email":
                return delivery.state
        return None


class DeliveryState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Delivery(models.Model):
    """One notification sent through one outside channel. Failures are kept and retried with a growing delay."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(_("channel"), max_length=20)
    address = models.CharField(_("address"), max_length=255)
    state = models.CharField(_("state"), max_length=10, choices=DeliveryState.choices, default=DeliveryState.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="delivery_due")]
        constraints = [models.UniqueConstraint(fields=["notification", "channel"], name="delivery_once_per_channel")]

    def __str__(self) -> str:
        return f"{self.channel} → {self.address}: {self.state}"


class ChannelChoice(models.Model):
    """A person's choice to receive (or not) one kind through one outside channel; no row: the kind's default."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=20)
    enabled = models.BooleanField(_("enabled"))

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [models.UniqueConstraint(fields=["user", "kind", "channel"], name="one_choice_per_channel")]
