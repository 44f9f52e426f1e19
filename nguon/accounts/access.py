"""The access helpers every view and API uses: what a user may see and change, by unit subtree."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from nguon.accounts.roles import Capability, Role, roles_with
from nguon.core.errors import Forbidden, NotFound
from nguon.units.models import Unit

EVERYWHERE = ""  # the empty path prefix matches every unit


def grant_paths(user, capability: Capability = Capability.VIEW) -> list[str]:
    """The unit paths under which `user` holds `capability`, with nested paths folded into their parents."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    if user.is_superuser:
        return [EVERYWHERE]
    roles = roles_with(capability)
    paths = sorted({g.unit.path for g in user.active_grants() if g.role in roles})
    folded: list[str] = []
    for path in paths:
        if not any(path.startswith(kept) for kept in folded):
            folded.append(path)
    return folded


def scope_to_user(
    queryset: QuerySet, user, capability: Capability = Capability.VIEW, *, path_field: str = "unit__path"
) -> QuerySet:
    """Filter `queryset` to the rows whose unit lies in the user's subtrees for `capability`."""
    paths = grant_paths(user, capability)
    if not paths:
        return queryset.none()
    if EVERYWHERE in paths:
        return queryset
    condition = Q()
    for path in paths:
        condition |= Q(**{f"{path_field}__startswith": path})
    return queryset.filter(condition)


def can(user, capability: Capability, unit: Unit | None) -> bool:
    """True when `user` holds `capability` on `unit` (a None unit needs province-wide reach)."""
    paths = grant_paths(user, capability)
    if EVERYWHERE in paths:
        return True
    if unit is None:
        return False
    return any(unit.path.startswith(path) for path in paths)


def covers_everything(user, capability: Capability = Capability.VIEW) -> bool:
    """True when the user's reach for `capability` includes every root unit (sees unscoped records)."""
    paths = grant_paths(user, capability)
    if EVERYWHERE in paths:
        return True
    roots = Unit.objects.roots().values_list("path", flat=True)
    return bool(paths) and all(root in paths for root in roots)


def require(user, capability: Capability, unit: Unit | None) -> None:
    if not can(user, capability, unit):
        raise Forbidden()


def is_root_admin(user) -> bool:
    """A system administrator for the whole installation (the Django admin is theirs)."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or any(g.role == Role.ADMIN and g.unit.parent_id is None for g in user.active_grants())


def units_for_user(user, capability: Capability = Capability.VIEW) -> QuerySet:
    return scope_to_user(Unit.objects.select_related("unit_type"), user, capability, path_field="path")


def get_unit_for_user(user, code: str, capability: Capability = Capability.VIEW) -> Unit:
    """Return the unit, 404 when the user cannot see it, 403 when they see it but lack `capability`."""
    unit = units_for_user(user).filter(code=code).first()
    if unit is None:
        raise NotFound()
    require(user, capability, unit)
    return unit


def users_for_user(user, capability: Capability = Capability.VIEW) -> QuerySet:
    from nguon.accounts.models import User

    return scope_to_user(User.objects.select_related("unit", "organisation"), user, capability)


def get_user_for_user(user, user_id: int, capability: Capability = Capability.VIEW):
    target = users_for_user(user).filter(pk=user_id).first()
    if target is None:
        raise NotFound()
    require(user, capability, target.unit)
    return target


def organisations_for_user(user, capability: Capability = Capability.VIEW) -> QuerySet:
    from nguon.units.models import Organisation

    return scope_to_user(Organisation.objects.select_related("unit"), user, capability)
