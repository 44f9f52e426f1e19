"""Administrative units as a tree with official codes and validity dates, and the organisations in them."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nguon.core.collation import vi
from nguon.lib.folding import fold


class UnitType(models.Model):
    """A kind of unit (tỉnh, xã, phường, đặc khu, a legacy district, a cluster): data, not code."""

    slug = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    name_en = models.CharField(_("English name"), max_length=80, blank=True)
    level = models.PositiveSmallIntegerField(
        _("level"), help_text=_("1 for a province; larger numbers sit lower in the tree.")
    )

    class Meta:
        ordering = ["level", vi("name")]
        verbose_name = _("unit type")
        verbose_name_plural = _("unit types")

    def __str__(self) -> str:
        return self.name


class UnitQuerySet(models.QuerySet):
    def current(self, on=None):
        """Units valid on the given date (today by default)."""
        day = on or timezone.localdate()
        return self.filter(Q(valid_from__isnull=True) | Q(valid_from__lte=day)).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gt=day)
        )

    def subtree_of(self, unit: Unit):
        """The unit and every unit below it."""
        return self.filter(path__startswith=unit.path)

    def roots(self):
        return self.filter(parent__isnull=True)

    def search(self, text: str):
        """Match the name or code, with or without diacritics."""
        text = text.strip()
        if not text:
            return self
        return self.filter(Q(name_folded__contains=fold(text)) | Q(code=text))


class Unit(models.Model):
    """An administrative unit. `path` holds the codes from the root ("75/26068/") for subtree queries."""

    code = models.CharField(_("official code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    name_folded = models.CharField(max_length=200, editable=False, db_index=True)
    unit_type = models.ForeignKey(UnitType, on_delete=models.PROTECT, related_name="units", verbose_name=_("type"))
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent")
    )
    path = models.CharField(max_length=255, editable=False, db_index=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid until"), null=True, blank=True, help_text=_("Empty while still in force."))
    source = models.CharField(_("source"), max_length=100, blank=True)
    # Lets a commune approve its own bulletins where the province allows it (used by the content workflow).
    allow_self_approval = models.BooleanField(_("allow self-approval"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UnitQuerySet.as_manager()

    class Meta:
        ordering = ["path"]
        verbose_name = _("administrative unit")
        verbose_name_plural = _("administrative units")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_to__gt=models.F("valid_from")),
                name="unit_validity_ordered",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.name_folded = fold(self.name)
        self.path = self.compute_path()
        super().save(*args, **kwargs)

    def compute_path(self) -> str:
        prefix = self.parent.path if self.parent_id else ""
        return f"{prefix}{self.code}/"

    @property
    def depth(self) -> int:
        return self.path.count("/") - 1

    def is_current(self, on=None) -> bool:
        day = on or timezone.localdate()
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or self.valid_to > day)

    def contains(self, other: Unit) -> bool:
        """True when `other` is this unit or lies below it."""
        return other.path.startswith(self.path)

    def ancestors(self) -> list[Unit]:
        codes = self.path.strip("/").split("/")[:-1]
        by_code = {u.code: u for u in Unit.objects.filter(code__in=codes).select_related("unit_type")}
        return [by_code[c] for c in codes if c in by_code]


class OrganisationKind(models.TextChoices):
    PEOPLES_COMMITTEE = "committee", _("People's committee")
    DEPARTMENT = "department", _("Department or agency")
    RADIO_STATION = "station", _("Radio station")
    PRESS = "press", _("Press outlet")
    OTHER = "other", _("Other")


class OrganisationQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Organisation(models.Model):
    """An organisation that belongs to a unit: a department, a people's committee, a station, a newspaper."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="organisations", verbose_name=_("unit"))
    name = models.CharField(_("name"), max_length=255)
    short_name = models.CharField(_("short name"), max_length=60, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=OrganisationKind.choices)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["unit__path", vi("name")]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [models.UniqueConstraint(fields=["unit", "name"], name="organisation_unique_name_in_unit")]

    def __str__(self) -> str:
        return self.name
