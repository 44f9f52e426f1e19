"""Links to parent and child instances, pairing codes, and the signed outbox and inbox of federation messages.

Each direction of a link is an ordered stream: the sender numbers its messages 1, 2, 3… per link (`OutboxMessage.seq`)
and the receiver applies them strictly in that order, recording each in `InboxMessage` (unique per link and
idempotency key) in the same transaction as its effect. So a message is applied once, never skipped, and a peer that
was away resumes from the receiver's `received_seq`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LinkQuerySet(models.QuerySet):
    def active(self):
        return self.filter(state=Link.State.ACTIVE)

    def parents(self):
        return self.filter(role=Link.Role.PARENT)

    def children(self):
        return self.filter(role=Link.Role.CHILD)


class Link(models.Model):
    """One peer: the instance above us (our parent) or one below (our child)."""

    class Role(models.TextChoices):
        PARENT = "parent", _("Parent (the level above)")
        CHILD = "child", _("Child (a level below)")

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for pairing")
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    class Adapter(models.TextChoices):
        FEDERATION = "federation", _("Federation (Nguồn at both ends)")
        FILE = "file", _("File exchange (data-sharing platform)")

    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    adapter = models.CharField(_("adapter"), max_length=16, choices=Adapter.choices, default=Adapter.FEDERATION)
    name = models.CharField(_("name"), max_length=200)
    # A parent's base URL ("https://central.example.vn"); a child calls us, so its URL is optional.
    base_url = models.URLField(_("peer address"), max_length=500, blank=True)
    peer_instance_id = models.CharField(_("peer instance id"), max_length=64, blank=True, db_index=True)
    # The peer's Ed25519 public key (raw, base64), pinned at pairing: only messages it signs are accepted.
    peer_public_key = models.CharField(_("peer public key"), max_length=64, blank=True)
    peer_unit_code = models.CharField(_("peer unit code"), max_length=20, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    # Outgoing stream: the last seq given to an outbox message, and the last one the peer acknowledged.
    sent_seq = models.BigIntegerField(_("last sequence number sent"), default=0)
    acked_seq = models.BigIntegerField(_("last sequence number acknowledged"), default=0)
    # Incoming stream: the last seq applied from the peer (for a parent link: the cursor of what we pulled).
    received_seq = models.BigIntegerField(_("last sequence number received"), default=0)
    # Free-form position for adapters whose cursor is not a number (the file exchange's last file name, say).
    cursor = models.CharField(_("cursor"), max_length=200, blank=True)
    last_ok_at = models.DateTimeField(_("last successful exchange"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    failures = models.PositiveIntegerField(_("consecutive failures"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("created by")
    )

    objects = LinkQuerySet.as_manager()

    class Meta:
        verbose_name = _("central link")
        verbose_name_plural = _("central links")
        ordering = ["role", "name"]
        constraints = [
            # One link per peer instance; a pending child link has no peer yet.
            models.UniqueConstraint(
                fields=["peer_instance_id"], condition=~models.Q(peer_instance_id=""), name="central_link_one_per_peer"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_active(self) -> bool:
        return self.state == self.State.ACTIVE

    def pending_messages(self):
        return self.outbox.filter(delivered_at__isnull=True).order_by("seq")


class PairingCode(models.Model):
    """A one-time code that lets one named child pair with us: shown once, stored hashed, single use, expires."""

    link = models.ForeignKey(Link, models.CASCADE, related_name="pairing_codes", verbose_name=_("link"))
    code_hash = models.CharField(_("code hash"), max_length=64, unique=True)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("created by")
    )

    class Meta:
        verbose_name = _("pairing code")
        verbose_name_plural = _("pairing codes")

    def is_usable(self, now=None) -> bool:
        return self.used_at is None and (now or timezone.now()) < self.expires_at


class OutboxMessage(models.Model):
    """A message waiting for (or already given) delivery to one peer, numbered per link."""

    link = models.ForeignKey(Link, models.CASCADE, related_name="outbox", verbose_name=_("link"))
    seq = models.BigIntegerField(_("sequence number"))
    key = models.CharField(_("idempotency key"), max_length=200)
    kind = models.CharField(_("kind"), max_length=64)
    body = models.JSONField(_("body"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        verbose_name = _("outgoing message")
        verbose_name_plural = _("outgoing messages")
        constraints = [
            models.UniqueConstraint(fields=["link", "seq"], name="central_outbox_link_seq"),
            models.UniqueConstraint(fields=["link", "key"], name="central_outbox_link_key"),
        ]
        indexes = [models.Index(fields=["link", "delivered_at", "seq"], name="central_outbox_pending")]

    def __str__(self):
        return f"{self.kind} #{self.seq}"


class InboxMessage(models.Model):
    """A message received from a peer and applied, kept so that a repeat is acknowledged but not applied twice."""

    link = models.ForeignKey(Link, models.CASCADE, related_name="inbox", verbose_name=_("link"))
    seq = models.BigIntegerField(_("sequence number"))
    key = models.CharField(_("idempotency key"), max_length=200)
    kind = models.CharField(_("kind"), max_length=64)
    body = models.JSONField(_("body"))
    signature = models.CharField(_("signature"), max_length=100, blank=True)
    # Why applying it was refused (its effects rolled back): the stream moves on rather than stalling on a
    # message that every retry would refuse again; the page and the sender show the reason.
    refusal = models.TextField(_("refusal"), blank=True)
    created_at = models.DateTimeField(_("sent"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)

    class Meta:
        verbose_name = _("received message")
        verbose_name_plural = _("received messages")
        constraints = [models.UniqueConstraint(fields=["link", "key"], name="central_inbox_link_key")]
        indexes = [models.Index(fields=["link", "seq"], name="central_inbox_link_seq")]

    def __str__(self):
        return f"{self.kind} #{self.seq}"
