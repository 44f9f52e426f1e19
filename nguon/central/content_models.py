"""What the link carries: figures and inventories received from children, bulletins marked for sharing.

At the parent, every UP message is kept as a row per link (history); the latest per link and period (or per
bulletin) is what the children pages show. At the child, `BulletinShare` remembers what the province marked for
sharing up, and by whom.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

__all__ = ["BulletinShare", "ChildInventory", "ChildReport", "SharedBulletin"]


class ChildReport(models.Model):
    """A periodic report (its tables as JSON, `Report.as_json()`) a child sent up."""

    link = models.ForeignKey(
        "central.Link", on_delete=models.CASCADE, related_name="child_reports", verbose_name=_("link")
    )
    kind = models.CharField(_("report"), max_length=40)
    unit_code = models.CharField(_("unit code"), max_length=20)
    period_kind = models.CharField(_("period type"), max_length=10)
    period_value = models.CharField(_("period"), max_length=30)
    cutoff_at = models.DateTimeField(_("figures as of"), null=True)
    report = models.JSONField(_("tables"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("report from a child instance")
        verbose_name_plural = _("reports from child instances")
        indexes = [models.Index(fields=["link", "kind", "period_kind", "period_value"], name="central_childreport_per")]

    def __str__(self) -> str:
        return f"{self.unit_code} {self.kind} {self.period_value}"


class ChildInventory(models.Model):
    """A child's device inventory summary: rows per commune, device kind, technology and online state."""

    link = models.ForeignKey(
        "central.Link", on_delete=models.CASCADE, related_name="child_inventories", verbose_name=_("link")
    )
    unit_code = models.CharField(_("unit code"), max_length=20)
    taken_at = models.DateTimeField(_("taken at"))
    rows = models.JSONField(_("rows"))
    totals = models.JSONField(_("totals"), default=dict)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        ordering = ["-taken_at", "-id"]
        verbose_name = _("device inventory from a child instance")
        verbose_name_plural = _("device inventories from child instances")

    def __str__(self) -> str:
        return f"{self.unit_code} {self.taken_at:%Y-%m-%d %H:%M}"


class SharedBulletin(models.Model):
    """A bulletin a child shared up, as ninjs 2.0; one row per version received (the latest is shown)."""

    link = models.ForeignKey(
        "central.Link", on_delete=models.CASCADE, related_name="shared_bulletins", verbose_name=_("link")
    )
    uri = models.CharField(_("identifier"), max_length=300)
    version = models.PositiveIntegerField(_("version"), default=1)
    title = models.CharField(_("title"), max_length=300)
    priority = models.CharField(_("priority"), max_length=20)
    ninjs = models.JSONField(_("ninjs item"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("bulletin shared by a child instance")
        verbose_name_plural = _("bulletins shared by child instances")
        indexes = [models.Index(fields=["link", "uri"], name="central_sharedbulletin_uri")]

    def __str__(self) -> str:
        return self.title


class BulletinShare(models.Model):
    """At the child: a published bulletin the province marked for sharing with the level above (append-only)."""

    bulletin = models.ForeignKey(
        "content.Bulletin", on_delete=models.CASCADE, related_name="central_shares", verbose_name=_("bulletin")
    )
    revision = models.PositiveIntegerField(_("revision"))
    key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("by")
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("bulletin shared up")
        verbose_name_plural = _("bulletins shared up")

    def __str__(self) -> str:
        return f"{self.bulletin_id} r{self.revision}"
