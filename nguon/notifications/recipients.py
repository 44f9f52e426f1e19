"""Who is told: holders of a capability on a unit (a grant on the unit or any unit above it covers it)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from nguon.accounts.models import RoleGrant, User
from nguon.accounts.roles import Capability, Role, roles_with


def paths_up(path: str) -> list[str]:
    """The unit's own path and every ancestor's ("75/26068/" → ["75/", "75/26068/"])."""
    parts = path.strip("/").split("/")
    return ["/".join(parts[: depth + 1]) + "/" for depth in range(len(parts))]


def holders(capability: Capability | Iterable[Capability], unit) -> QuerySet:
    """Active users who hold `capability` (any of several) on `unit` through a current grant.

    Superusers without a grant are technical accounts and are not told: roles decide who is concerned.
    """
    capabilities = [capability] if isinstance(capability, Capability) else list(capability)
    roles = {role for c in capabilities for role in roles_with(c)}
    grants = RoleGrant.objects.active().filter(role__in=roles, unit__path__in=paths_up(unit.path))
    return User.objects.filter(is_active=True, pk__in=grants.values("user_id"))


def covering(roles: Iterable[Role], units: Iterable) -> dict[int, set[int]]:
    """For several units at once: {user id: ids of the given units the user holds one of `roles` on}."""
    units = list(units)
    all_paths = {p for unit in units for p in paths_up(unit.path)}
    grants = (
        RoleGrant.objects.active()
        .filter(role__in=list(roles), unit__path__in=all_paths, user__is_active=True)
        .values_list("user_id", "unit__path")
    )
    found: dict[int, set[int]] = {}
    for user_id, grant_path in grants:
        for unit in units:
            if unit.path.startswith(grant_path):
                found.setdefault(user_id, set()).add(unit.pk)
    return found
