"""The audience a push event is signed for (protocol §4.2), so that a captured event cannot be replayed elsewhere.

An event goes to a set of devices (`PushEvent.device_ids`). Its signed payload names that set in terms a device can
check by itself: the administrative units whose every device in service is in the set (a device knows its unit and
the units above it), then device groups wholly in the set (a device knows its groups), then the codes of the devices
left over. So a province-wide broadcast names one unit code, not 10,000 device codes, and a device outside the set
is named by none of the three.

Membership is read when the event is written: a device added to a unit or group afterwards would also accept it,
until it expires (10 minutes for commands, an alert's own expiry for alerts).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from functools import lru_cache

from django.db.models import Q

from nguon.broadcast.models import Device, DeviceGroup
from nguon.units.models import Unit

# Up to this many devices the audience is simply their codes (one query, and nothing a device must know).
CODES_ONLY = 8
# Past this many targets every device row is read once, rather than the targets by id and then their units' devices.
READ_ALL = 1000
# A loose audience (events that only ask for a manifest fetch) names the units of its left-over devices when they are
# more than this many, instead of each of them: a replay then costs at most a 304, and the frame stays small.
LOOSE_CODES = 32


def unit_codes(path: str) -> list[str]:
    """The codes of a unit path ("75/26068/") from the root down: the units a device belongs to."""
    return [code for code in path.split("/") if code]


def device_memberships(device: Device) -> dict:
    """What a device is told about itself so it can check an audience: its units (root first) and group ids."""
    return {"units": unit_codes(device.unit.path), "groups": sorted(group.pk for group in device.groups.all())}


def audience_for(device_ids, *, loose: bool = False) -> dict:
    """The audience of an event sent to these devices (None or empty: every device).

    `loose`: the event is harmless to a device it was not meant for (a `manifest` event only asks for a fetch), so
    many left-over devices may be named by their units rather than one by one.
    """
    if not device_ids:
        return {"units": sorted(Unit.objects.filter(parent__isnull=True).order_by().values_list("code", flat=True))}
    wanted = {int(i) for i in device_ids}
    if len(wanted) > READ_ALL:
        # One pass over every device without joining units (a few hundred paths are read apart); codes are read
        # later, for the devices no unit or group covers (most often none).
        paths = dict(Unit.objects.order_by().values_list("pk", "path"))
        every = Device.objects.order_by().values_list("pk", "unit_id", "kind", "is_active")
        rows = [(pk, paths[unit_id], k, active) for pk, unit_id, k, active in every.iterator(chunk_size=5000)]
        targets = [(pk, None, path, k) for pk, path, k, _active in rows if pk in wanted]
        kinds = {k for *_rest, k in targets}
        in_service = {pk: path for pk, path, k, active in rows if active and (len(kinds) > 1 or k in kinds)}
    else:
        targets = list(Device.objects.filter(pk__in=wanted).order_by().values_list("pk", "code", "unit__path", "kind"))
        if len(targets) <= CODES_ONLY:
            return {"devices": sorted(code for _pk, code, _path, _kind in targets)}
        kinds = {kind for *_rest, kind in targets}
        # The devices in service under every top-level unit the targets lie in (of their kind, when they share one).
        under_roots = Q()
        for root in {unit_codes(path)[0] for _pk, _code, path, _kind in targets}:
            under_roots |= Q(unit__path__startswith=f"{root}/")
        population = Device.objects.filter(under_roots, is_active=True).order_by()  # no collation sort: not shown
        if len(kinds) == 1:
            population = population.filter(kind__in=kinds)
        in_service = dict(population.values_list("pk", "unit__path"))
    # An event for one kind of device (alerts go to e-boards and to loudspeakers as two events) names that kind, and
    # its units and groups then stand for their devices of that kind only.
    kind = next(iter(kinds)) if len(kinds) == 1 else None
    targets = [(pk, code, path) for pk, code, path, _kind in targets]

    # Units: count the devices in service under every unit the targets lie in, and how many of them are targets.
    for pk, _code, path in targets:
        in_service.setdefault(pk, path)  # a target out of service still counts as one of the set
    # Counted per unit path first (a province has thousands of devices but only some hundred units).
    per_path: Counter[str] = Counter(in_service.values())
    hit_path: Counter[str] = Counter(path for pk, path in in_service.items() if pk in wanted)
    total: Counter[str] = Counter()
    hit: Counter[str] = Counter()
    for path, n in per_path.items():
        for prefix in _prefixes(path):
            total[prefix] += n
            hit[prefix] += hit_path[path]
    full = {prefix for prefix in total if hit[prefix] == total[prefix]}
    # The highest full units only (a full unit under a full unit adds nothing).
    chosen = {p for p in full if not any(q in full for q in _prefixes(p)[:-1])}
    covered_paths = {path: any(p in chosen for p in _prefixes(path)) for path in per_path}
    left = {pk: code for pk, code, path in targets if not covered_paths[path]}
    if loose and len(left) > LOOSE_CODES:
        paths = {pk: path for pk, _code, path in targets}
        chosen |= {paths[pk] for pk in left}  # each left-over device's own unit, whole
        left = {}

    groups = _whole_groups(left, wanted, kind)
    audience: dict[str, list] = {}
    if chosen:
        audience["units"] = sorted(unit_codes(p)[-1] for p in chosen)
    if groups:
        audience["groups"] = sorted(groups)
        covered = set().union(*groups.values())
        left = {pk: code for pk, code in left.items() if pk not in covered}
    if left:
        if None in left.values():  # read in one pass without codes: look them up now
            left = dict(Device.objects.filter(pk__in=list(left)).order_by().values_list("pk", "code"))
        audience["devices"] = sorted(left.values())
    if kind and ("units" in audience or "groups" in audience):
        audience["kinds"] = [kind]
    return audience


@lru_cache(maxsize=4096)
def _prefixes(path: str) -> tuple[str, ...]:
    """ "75/26068/" → ["75/", "75/26068/"]."""
    codes = unit_codes(path)
    return tuple("/".join(codes[: n + 1]) + "/" for n in range(len(codes)))


def _whole_groups(left: dict[int, str], wanted: set[int], kind: str | None) -> dict[int, set[int]]:
    """Groups holding some of the devices `left`, every member in service (of `kind`) of which is wanted; picked
    greedily."""
    if not left:
        return {}
    through = DeviceGroup.devices.through
    candidate_ids = set(through.objects.filter(device_id__in=list(left)).values_list("devicegroup_id", flat=True))
    members: dict[int, set[int]] = defaultdict(set)
    rows = through.objects.filter(devicegroup_id__in=candidate_ids, device__is_active=True)
    if kind:
        rows = rows.filter(device__kind=kind)
    for group_id, device_id in rows.values_list("devicegroup_id", "device_id"):
        members[group_id].add(device_id)
    whole = {g: m for g, m in members.items() if m <= wanted and m & left.keys()}
    chosen: dict[int, set[int]] = {}
    uncovered = set(left)
    while uncovered:
        best = max(whole, key=lambda g: (len(whole[g] & uncovered), -g), default=None)
        if best is None or not whole[best] & uncovered:
            break
        chosen[best] = whole.pop(best)
        uncovered -= chosen[best]
    return chosen
