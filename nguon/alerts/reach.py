"""What an alert will reach, told to the approver before approval: devices per commune, and warnings when the area
reaches no device or lies (partly) outside the issuing unit.

The devices counted are exactly those `delivery.target_devices` would send the alert to if it were issued now
(active devices under the issuing unit, in the area's units or inside its polygons and circles, drill devices only
for drills). Units have no boundaries here, so "outside the issuing unit" is judged by devices: a shape whose devices
all belong to other units lies outside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from nguon.alerts import delivery
from nguon.alerts.models import Alert
from nguon.broadcast.models import Device, DeviceKind
from nguon.lib import geo


@dataclass
class UnitReach:
    code: str
    name: str
    speakers: int = 0
    boards: int = 0

    @property
    def total(self) -> int:
        return self.speakers + self.boards


@dataclass
class Reach:
    speakers: int = 0
    boards: int = 0
    by_unit: list[UnitReach] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    device_ids: set[int] = field(default_factory=set)

    @property
    def total(self) -> int:
        return self.speakers + self.boards

    def as_dict(self) -> dict:
        return {
            "total": self.total,
            "speakers": self.speakers,
            "boards": self.boards,
            "by_unit": [{"code": u.code, "name": u.name, "speakers": u.speakers, "boards": u.boards,
                         "total": u.total} for u in self.by_unit],
            "warnings": self.warnings,
        }  # fmt: skip


def _shape_names(alert: Alert) -> list[tuple[str, object, bool]]:
    """(name, shape, is_polygon) for every polygon and circle, numbered as the form and the page number them."""
    shapes = [(_("Polygon %(n)d") % {"n": i}, ring, True) for i, ring in enumerate(alert.polygons, 1)]
    shapes += [(_("Circle %(n)d") % {"n": i}, circle, False) for i, circle in enumerate(alert.circles, 1)]
    return shapes


def _inside(shape, is_polygon: bool, lat, lon) -> bool:
    if lat is None or lon is None:
        return False
    return geo.point_in_polygon(lat, lon, shape) if is_polygon else geo.point_in_circle(lat, lon, tuple(shape))


def assess(alert: Alert, *, area_units=None) -> Reach:
    """Count and check what the alert would reach if it were issued now. `area_units` stands in for the alert's own
    units when it is not saved yet (the compose form's check)."""
    unit = alert.unit
    reach = Reach()
    if alert.status not in delivery.PLAYABLE:
        reach.warnings.append(_("System and Draft messages reach no device: nothing will be played or shown."))
        return reach
    targets = dict(delivery.target_devices(alert, area_units=area_units))
    reach.device_ids = set(targets)
    # Every active device of the issuing unit, once (no long IN lists: a province has up to 10,000 devices).
    subtree = {
        pk: (code, name, path, lat is None)
        for pk, code, name, path, lat in Device.objects.active()
        .filter(unit__path__startswith=unit.path)
        .values_list("pk", "unit__code", "unit__name", "unit__path", "latitude")
    }
    per_unit: dict[str, UnitReach] = {}
    for pk, kind in targets.items():
        code, name, _path, _unplaced = subtree[pk]
        row = per_unit.setdefault(code, UnitReach(code=code, name=name))
        if kind == DeviceKind.BOARD:
            row.boards += 1
            reach.boards += 1
        else:
            row.speakers += 1
            reach.speakers += 1
    reach.by_unit = sorted(per_unit.values(), key=lambda u: u.code)
    warnings = reach.warnings
    if not targets:
        warnings.append(_("The area reaches no device: nothing will be played or shown."))
        if alert.is_drill and delivery.target_devices(_as_actual(alert), area_units=area_units):
            warnings.append(
                _("Exercise and Test messages reach only devices marked “takes drills and tests”; none of the "
                  "devices in the area is.")
            )  # fmt: skip

    area_units = (
        sorted(area_units, key=lambda u: u.path) if area_units is not None else list(alert.area_units.order_by("path"))
    )
    outside = [u for u in area_units if not u.path.startswith(unit.path)]
    if outside:
        warnings.append(
            _("These units lie outside %(unit)s, so their devices will not be reached: %(names)s")
            % {"unit": unit.name, "names": ", ".join(u.name for u in outside)}
        )
    reached_paths = {subtree[pk][2] for pk in targets}
    empty = [u for u in area_units if u not in outside and not any(p.startswith(u.path) for p in reached_paths)]
    if empty:
        warnings.append(_("No device would be reached in: %(names)s") % {"names": ", ".join(u.name for u in empty)})

    if alert.polygons or alert.circles:
        warnings.extend(_shape_warnings(alert, targets))
        unplaced = sum(1 for pk, (_c, _n, _p, no_position) in subtree.items() if no_position and pk not in targets)
        if unplaced:
            warnings.append(
                ngettext(
                    "%(n)d device of %(unit)s has no coordinates: polygons and circles cannot reach it.",
                    "%(n)d devices of %(unit)s have no coordinates: polygons and circles cannot reach them.",
                    unplaced,
                )
                % {"n": unplaced, "unit": unit.name}
            )
    return reach


def _as_actual(alert: Alert) -> Alert:
    """The same alert as an Actual message (to tell "no device at all" from "no drill device")."""
    copy = Alert(pk=alert.pk, unit=alert.unit, status="Actual", polygons=alert.polygons, circles=alert.circles)
    copy._state = alert._state
    return copy


def _shape_warnings(alert: Alert, targets: dict[int, str]) -> list[str]:
    unit = alert.unit
    rows = list(
        Device.objects.active()
        .filter(delivery._shapes_condition(alert))
        .values_list("pk", "unit__path", "latitude", "longitude")
    )
    warnings = []
    for name, shape, is_polygon in _shape_names(alert):
        inside = [(pk, path) for pk, path, lat, lon in rows if _inside(shape, is_polygon, lat, lon)]
        reached = sum(1 for pk, _path in inside if pk in targets)
        beyond = sum(1 for _pk, path in inside if not path.startswith(unit.path))
        if reached == 0 and beyond:
            warnings.append(
                ngettext(
                    "%(shape)s lies outside %(unit)s: the %(n)d device inside it belongs to another unit and will "
                    "not be reached.",
                    "%(shape)s lies outside %(unit)s: the %(n)d devices inside it belong to other units and will "
                    "not be reached.",
                    beyond,
                )
                % {"shape": name, "unit": unit.name, "n": beyond}
            )
        elif reached == 0:
            warnings.append(_("%(shape)s contains no device that would be reached.") % {"shape": name})
        elif beyond:
            warnings.append(
                ngettext(
                    "%(shape)s also covers %(n)d device outside %(unit)s: it will not be reached.",
                    "%(shape)s also covers %(n)d devices outside %(unit)s: they will not be reached.",
                    beyond,
                )
                % {"shape": name, "unit": unit.name, "n": beyond}
            )
    return warnings
