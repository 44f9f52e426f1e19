"""State changes on units and organisations."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nguon.accounts.access import require
from nguon.accounts.roles import Capability
from nguon.audit.actions import diff, record_event
from nguon.core.errors import Conflict, Invalid
from nguon.units.models import Organisation, OrganisationKind, Unit, UnitType
from nguon.units.sources import DEFAULT_UNIT_TYPES, DIVISION_TYPES, ProvinceData


def do_update_unit(unit: Unit, *, acting_user, name: str | None = None, name_en: str | None = None) -> Unit:
    """Rename a unit (its code and place in the tree come from the official list)."""
    require(acting_user, Capability.MANAGE_UNITS, unit)
    before = {"name": unit.name, "name_en": unit.name_en}
    if name is not None:
        name = name.strip()
        if not name:
            raise Invalid(_("The unit needs a name."), fields={"name": [_("Enter a name.")]})
        unit.name = name[:200]
    if name_en is not None:
        unit.name_en = name_en.strip()[:200]
    after = {"name": unit.name, "name_en": unit.name_en}
    with transaction.atomic():
        unit.save()
        record_event("units.unit_updated", actor=acting_user, obj=unit, changes=diff(before, after))
    return unit


def do_create_organisation(
    unit: Unit, *, acting_user, name: str, kind: str, short_name: str = "", email: str = "", phone: str = ""
) -> Organisation:
    if acting_user is not None:
        require(acting_user, Capability.MANAGE_UNITS, unit)
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = [_("Enter a name.")]
    if kind not in OrganisationKind.values:
        errors["kind"] = [_("Choose one of the listed kinds.")]
    if errors:
        raise Invalid(_("The organisation could not be created."), fields=errors)
    with transaction.atomic():
        # casefold in Python: SQLite's case-insensitive match only knows ASCII ("ĐÀI" vs "đài").
        if any(
            existing.casefold() == name.casefold() for existing in unit.organisations.values_list("name", flat=True)
        ):
            raise Conflict(
                _("This unit already has an organisation with this name."),
                code="organisation_exists",
                fields={"name": [_("Already exists in this unit.")]},
            )
        organisation = Organisation.objects.create(
            unit=unit, name=name[:255], kind=kind, short_name=short_name[:60], email=email, phone=phone[:30]
        )
        record_event(
            "units.organisation_created",
            actor=acting_user,
            obj=organisation,
            changes={"name": organisation.name, "kind": kind, "unit": unit.code},
        )
    return organisation


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.retired)

    def as_dict(self) -> dict:
        return {"created": self.created, "updated": self.updated, "retired": self.retired, "unchanged": self.unchanged}


def ensure_unit_types() -> dict[str, UnitType]:
    """Create the default unit types that are missing; return all types by slug."""
    for slug, name, name_en, level in DEFAULT_UNIT_TYPES:
        UnitType.objects.get_or_create(slug=slug, defaults={"name": name, "name_en": name_en, "level": level})
    return {t.slug: t for t in UnitType.objects.all()}


def _upsert(code, *, name, unit_type, parent, source, report) -> Unit:
    unit = Unit.objects.filter(code=code).select_related("parent").first()
    if unit is None:
        unit = Unit.objects.create(code=code, name=name, unit_type=unit_type, parent=parent, source=source)
        report.created.append(code)
        return unit
    before = (unit.name, unit.unit_type_id, unit.parent_id, unit.valid_to)
    unit.name = name
    unit.unit_type = unit_type
    unit.valid_to = None  # listed again: in force again
    # Keep a commune that a province placed under an intermediate unit (a cluster) where it is.
    if parent is None or unit.parent is None or not unit.parent.path.startswith(parent.path):
        unit.parent = parent
    if (unit.name, unit.unit_type_id, unit.parent_id, unit.valid_to) == before:
        report.unchanged += 1
        return unit
    old_path = unit.path
    unit.source = source
    unit.save()
    if unit.path != old_path:
        for child in Unit.objects.filter(path__startswith=old_path).exclude(pk=unit.pk).order_by("path"):
            child.save()  # recomputes its path from its (already updated) parent
    report.updated.append(code)
    return unit


def do_import_units(data: ProvinceData, *, acting_user=None, dry_run: bool = False) -> ImportReport:
    """Bring a province's units in line with an official list; units no longer listed are retired, not deleted."""
    report = ImportReport()
    today = timezone.localdate()
    with transaction.atomic():
        types = ensure_unit_types()
        province = _upsert(
            data.province.code,
            name=data.province.name,
            unit_type=types[data.province.type_slug],
            parent=None,
            source=data.source,
            report=report,
        )
        listed = set()
        for ward in data.wards:
            listed.add(ward.code)
            _upsert(
                ward.code,
                name=ward.name,
                unit_type=types[ward.type_slug],
                parent=province,
                source=data.source,
                report=report,
            )
        commune_slugs = {slug for slug in DIVISION_TYPES.values() if types[slug].level > 1}
        gone = (
            Unit.objects.subtree_of(province)
            .current(today)
            .filter(unit_type__slug__in=commune_slugs)
            .exclude(code__in=listed)
        )
        for unit in gone:
            unit.valid_to = today
            unit.save(update_fields=["valid_to", "updated_at"])
            report.retired.append(unit.code)
        if report.changed:
            record_event(
                "units.imported",
                actor=acting_user,
                obj=province,
                changes={"source": data.source, **report.as_dict()},
            )
        if dry_run:
            transaction.set_rollback(True)
    return report
