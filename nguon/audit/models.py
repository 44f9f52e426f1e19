"""The append-only, hash-chained audit log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from nguon.lib.hashchain import GENESIS


class AppendOnlyError(RuntimeError):
    pass


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit events are append-only")

    def delete(self):
        raise AppendOnlyError("audit events are append-only")

    def within_paths(self, paths: list[str], *, include_unscoped: bool):
        """Events about units below any of `paths`; unscoped (system) events only when allowed."""
        condition = Q(pk__in=[])
        for path in paths:
            condition |= Q(unit_path__startswith=path)
        if include_unscoped:
            condition |= Q(unit_path="")
        return self.filter(condition)


class AuditEvent(models.Model):
    """One action: who, when, on what, what changed, from where. Each row commits to the one before."""

    at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    actor_label = models.CharField(_("user"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=80, db_index=True)
    object_type = models.CharField(_("object type"), max_length=80, blank=True)
    object_id = models.CharField(_("object ID"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=255, blank=True)
    unit = models.ForeignKey(
        "units.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("unit")
    )
    # A copy of the unit's path at the time, so scoping survives the unit moving in the tree.
    unit_path = models.CharField(max_length=255, blank=True, db_index=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    # Text, not inet: PostgreSQL would rewrite some addresses and so change the hashed value.
    ip = models.CharField(_("address"), max_length=45, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    channel = models.CharField(_("channel"), max_length=40, blank=True)
    seq = models.BigIntegerField(_("sequence"), unique=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events are append-only")

    def chain_payload(self) -> dict:
        """The fields the hash covers; any edit to one of them breaks the chain."""
        return {
            "seq": self.seq,
            "at": self.at.isoformat(timespec="microseconds"),
            "actor_id": self.actor_id,
            "actor_label": self.actor_label,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "object_repr": self.object_repr,
            "unit_id": self.unit_id,
            "unit_path": self.unit_path,
            "changes": self.changes,
            "ip": self.ip,
            "user_agent": self.user_agent,
            "channel": self.channel,
        }


class AuditHead(models.Model):
    """The single row that holds the chain's last link; writers lock it, so the chain never forks."""

    last_event_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS)
    count = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("audit chain head")


class AuditCheck(models.Model):
    """The result of one verification of the chain (append-only history of checks)."""

    at = models.DateTimeField(_("time"), auto_now_add=True)
    ok = models.BooleanField(_("intact"))
    checked = models.BigIntegerField(_("rows checked"))
    last_event_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, blank=True)
    problems = models.JSONField(_("problems"), default=list, blank=True)
    channel = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["-id"]
        get_latest_by = "id"
        verbose_name = _("audit chain check")
        verbose_name_plural = _("audit chain checks")
