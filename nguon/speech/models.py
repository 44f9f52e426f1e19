"""Pronunciation dictionary and speech renders (cached by normalised text, voice and settings)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class LexiconEntryQuerySet(models.QuerySet):
    def for_unit(self, unit):
        """Entries of the whole installation and of the unit's ancestors and itself."""
        if unit is None:
            return self.filter(is_active=True, unit__isnull=True)
        codes = unit.path.strip("/").split("/")
        return self.filter(is_active=True).filter(Q(unit__isnull=True) | Q(unit__code__in=codes))


class LexiconEntry(models.Model):
    """How to say a word or abbreviation: "UBND" → "Ủy ban nhân dân". Staff extend this in the back office."""

    term = models.CharField(_("written"), max_length=100)
    spoken = models.CharField(_("spoken"), max_length=300)
    unit = models.ForeignKey(
        "units.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lexicon",
        verbose_name=_("unit"),
        help_text=_("Empty: applies everywhere."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("created by")
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = LexiconEntryQuerySet.as_manager()

    class Meta:
        ordering = ["term"]
        verbose_name = _("pronunciation entry")
        verbose_name_plural = _("pronunciation dictionary")
        constraints = [models.UniqueConstraint(fields=["term", "unit"], name="lexicon_unique_term_per_unit")]

    def __str__(self) -> str:
        return f"{self.term} → {self.spoken}"


class RenderStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Rendering")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")


# The pipeline's stages (`nguon.speech.audio.STAGES`, then "done"), as people read them while a render runs.
STAGE_LABELS = {
    "synthesise": _("synthesising the voice"),
    "analyse": _("measuring loudness"),
    "normalise": _("levelling loudness"),
    "encode": _("encoding MP3 and Opus"),
    "store": _("storing the files"),
    "done": _("done"),
}


class SpeechRender(models.Model):
    """One rendering of a text to audio. The key makes identical requests share one render."""

    key = models.CharField(max_length=64, unique=True)
    text = models.TextField(_("normalised text"))
    engine = models.CharField(_("engine"), max_length=20)
    voice = models.CharField(_("voice"), max_length=40)
    options = models.JSONField(_("settings"), default=dict)
    unit = models.ForeignKey("units.Unit", on_delete=models.PROTECT, related_name="+", verbose_name=_("unit"))
    status = models.CharField(_("status"), max_length=10, choices=RenderStatus.choices, default=RenderStatus.QUEUED)
    stage = models.CharField(_("stage"), max_length=40, blank=True)
    progress = models.FloatField(_("progress"), default=0.0)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    mp3 = models.ForeignKey(
        "content.MediaAsset", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="MP3"
    )
    opus = models.ForeignKey(
        "content.MediaAsset", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="Opus"
    )
    duration = models.FloatField(_("duration (s)"), null=True, blank=True)
    loudness_lufs = models.FloatField(_("loudness (LUFS)"), null=True, blank=True)
    true_peak_dbtp = models.FloatField(_("true peak (dBTP)"), null=True, blank=True)
    timings = models.JSONField(_("timings (s)"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("speech render")
        verbose_name_plural = _("speech renders")

    def __str__(self) -> str:
        return f"{self.key[:12]} {self.status}"

    @property
    def percent(self) -> int:
        return round(self.progress * 100)

    @property
    def stage_label(self) -> str:
        """The current stage in the reader's language (an unknown stage name is not shown raw)."""
        return str(STAGE_LABELS.get(self.stage, "")) if self.stage else ""
