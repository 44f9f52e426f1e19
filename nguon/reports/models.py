"""Roll-ups that keep report figures fast for years, and the archive of generated reports.

The raw records (heartbeats, plays, logs, alert receipts) are counted into these tables in the same transaction
that stores them (`nguon.reports.rollup`), so a yearly report reads tens of thousands of roll-up rows instead of
tens of millions of raw ones, and the raw rows can be dropped after `NGUON_REPORT_RAW_RETENTION_DAYS`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# The counters a device-day and a unit-day carry, in the order of the upsert statements.
DAY_COUNTERS = (
    "planned_items",  # schedule occurrences' items the device was meant to play that day
    "planned_seconds",  # the scheduled airtime (slot windows)
    "played_items",  # play records that ended "played"
    "played_seconds",  # seconds of played and interrupted items (ended_at − started_at)
    "partial_items",
    "failed_items",
    "skipped_items",
    "online_minutes",  # heartbeats: a device sends one a minute while it runs (manifest heartbeat_seconds = 60)
    "faults",
    "alerts_acknowledged",
    "alerts_played",  # played on a loudspeaker or displayed on an e-board
    "alerts_failed",
)
# Counters that come from the schedule (set by planning), not added up from incoming records.
PLANNED_COUNTERS = ("planned_items", "planned_seconds")


class DayCounters(models.Model):
    day = models.DateField(_("day"))
    planned_items = models.IntegerField(_("planned items"), default=0, db_default=0)
    planned_seconds = models.BigIntegerField(_("planned seconds"), default=0, db_default=0)
    played_items = models.IntegerField(_("played items"), default=0, db_default=0)
    played_seconds = models.BigIntegerField(_("played seconds"), default=0, db_default=0)
    partial_items = models.IntegerField(_("interrupted items"), default=0, db_default=0)
    failed_items = models.IntegerField(_("failed items"), default=0, db_default=0)
    skipped_items = models.IntegerField(_("skipped items"), default=0, db_default=0)
    online_minutes = models.IntegerField(_("online minutes"), default=0, db_default=0)
    faults = models.IntegerField(_("faults"), default=0, db_default=0)
    alerts_acknowledged = models.IntegerField(_("alerts acknowledged"), default=0, db_default=0)
    alerts_played = models.IntegerField(_("alerts played"), default=0, db_default=0)
    alerts_failed = models.IntegerField(_("alerts failed"), default=0, db_default=0)

    class Meta:
        abstract = True


class DeviceDay(DayCounters):
    """One device's figures for one local day (Asia/Ho_Chi_Minh).

    No foreign-key constraints: the figures outlive a device that is deleted or a unit that is merged away.
    `unit` is the device's commune when the day's first record arrived.
    """

    device = models.ForeignKey(
        "broadcast.Device", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", verbose_name=_("device")
    )
    unit = models.ForeignKey(
        "units.Unit", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", verbose_name=_("unit")
    )

    class Meta:
        verbose_name = _("device day")
        verbose_name_plural = _("device days")
        constraints = [models.UniqueConstraint(fields=["device", "day"], name="device_day_unique")]
        indexes = [models.Index(fields=["unit", "day"], name="device_day_unit_day")]


class UnitDay(DayCounters):
    """The sum of a unit's own devices' days (not its subtree's: subtrees are summed when a report asks)."""

    unit = models.ForeignKey(
        "units.Unit", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", verbose_name=_("unit")
    )

    class Meta:
        verbose_name = _("unit day")
        verbose_name_plural = _("unit days")
        constraints = [models.UniqueConstraint(fields=["unit", "day"], name="unit_day_unique")]
        indexes = [models.Index(fields=["day"], name="unit_day_day")]


class SourceLevel(models.TextChoices):
    """The three programme levels of TT 39 (central, province, local), as a bulletin's origin."""

    CENTRAL = "central", _("Central")
    PROVINCE = "province", _("Province")
    COMMUNE = "commune", _("Commune")


class ContentMonth(models.Model):
    """Bulletins published in a month, per owning unit, TT 39 class, category, source level and author."""

    unit = models.ForeignKey(
        "units.Unit", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", verbose_name=_("unit")
    )
    month = models.DateField(_("month"), help_text="first day of the month")
    priority = models.CharField(_("priority"), max_length=20)
    category = models.ForeignKey(
        "content.Category",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
        verbose_name=_("category"),
    )
    source_level = models.CharField(_("source level"), max_length=10, choices=SourceLevel.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
        verbose_name=_("author"),
    )
    bulletins = models.IntegerField(_("bulletins"), default=0, db_default=0)

    class Meta:
        verbose_name = _("content month")
        verbose_name_plural = _("content months")
        indexes = [models.Index(fields=["month", "unit"], name="content_month_month_unit")]


class InventoryMonth(models.Model):
    """Devices in service and their stations at the end of a month (the current month: as of the last snapshot),
    per unit, kind and technology, so a report for a past period shows the inventory of that time."""

    unit = models.ForeignKey(
        "units.Unit", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", verbose_name=_("unit")
    )
    month = models.DateField(_("month"), help_text="first day of the month")
    kind = models.CharField(_("kind"), max_length=10)
    technology = models.CharField(_("technology"), max_length=10)
    devices = models.IntegerField(_("devices"), default=0)
    stations = models.IntegerField(_("stations"), default=0, help_text="distinct stations of these devices")

    class Meta:
        verbose_name = _("inventory month")
        verbose_name_plural = _("inventory months")
        constraints = [
            models.UniqueConstraint(fields=["unit", "month", "kind", "technology"], name="inventory_month_unique")
        ]
        indexes = [models.Index(fields=["month"], name="inventory_month_month")]


class ReportRun(models.Model):
    """A generated report kept in the archive: its files, their SHA-256 and the figures' cut-off time."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Generating")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("report"), max_length=40)
    unit = models.ForeignKey("units.Unit", on_delete=models.PROTECT, related_name="+", verbose_name=_("unit"))
    period_kind = models.CharField(_("period"), max_length=10)
    first_day = models.DateField(_("from"))
    last_day = models.DateField(_("to"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0, db_default=0)
    error = models.TextField(_("error"), blank=True)
    formats = models.JSONField(_("formats"), default=list, blank=True)  # asked for; `files` holds what was made
    cutoff_at = models.DateTimeField(_("figures up to"), null=True, blank=True)
    # {"xlsx": {"path": "...", "sha256": "...", "size": 123}, "docx": {...}, "pdf": {...}}
    files = models.JSONField(_("files"), default=dict, blank=True)
    schedule = models.ForeignKey(
        "ReportSchedule", on_delete=models.SET_NULL, null=True, blank=True, related_name="runs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    emailed_to = models.JSONField(_("e-mailed to"), default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        # A schedule makes one run per period, however often the due-schedule task runs.
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "first_day", "last_day"],
                condition=models.Q(schedule__isnull=False),
                name="report_run_one_per_schedule_period",
            )
        ]
        verbose_name = _("generated report")
        verbose_name_plural = _("generated reports")


class ReportSchedule(models.Model):
    """A report generated every month, quarter or year for a unit, and e-mailed to its recipients."""

    kind = models.CharField(_("report"), max_length=40)
    unit = models.ForeignKey("units.Unit", on_delete=models.CASCADE, related_name="+", verbose_name=_("unit"))
    period_kind = models.CharField(_("every"), max_length=10)
    formats = models.JSONField(_("formats"), default=list)
    recipients = models.JSONField(_("recipients"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    next_run_at = models.DateTimeField(_("next run"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("scheduled report")
        verbose_name_plural = _("scheduled reports")
