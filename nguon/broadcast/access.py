"""Access helpers for devices and groups: every queryset scoped to the user's unit subtrees."""

from __future__ import annotations

from django.db.models import QuerySet

from nguon.accounts.access import can, require, scope_to_user, units_for_user
from nguon.accounts.roles import Capability
from nguon.broadcast.models import Device, DeviceGroup
from nguon.core.errors import Forbidden, NotFound


def devices_for_user(user, capability: Capability = Capability.VIEW) -> QuerySet:
    return scope_to_user(Device.objects.select_related("unit"), user, capability)


def get_device_for_user(user, device_id: int, capability: Capability = Capability.VIEW) -> Device:
    """Return the device, 404 when the user cannot see it, 403 when they see it but lack `capability`."""
    device = devices_for_user(user).filter(pk=device_id).first()
    if device is None:
        raise NotFound()
    require(user, capability, device.unit)
    return device


def groups_for_user(user, capability: Capability = Capability.VIEW) -> QuerySet:
    return scope_to_user(DeviceGroup.objects.select_related("unit"), user, capability)


def get_group_for_user(user, group_id: int, capability: Capability = Capability.VIEW) -> DeviceGroup:
    group = groups_for_user(user).filter(pk=group_id).first()
    if group is None:
        raise NotFound()
    require(user, capability, group.unit)
    return group


# Groups are audiences for schedules as much as sets of hardware: technicians and operators both keep them.
GROUP_CAPABILITIES = (Capability.MANAGE_DEVICES, Capability.OPERATE_DEVICES)


def can_edit_groups(user, unit) -> bool:
    return any(can(user, capability, unit) for capability in GROUP_CAPABILITIES)


def require_group_editor(user, unit) -> None:
    if not can_edit_groups(user, unit):
        raise Forbidden()


def units_for_group_editor(user) -> QuerySet:
    """Units on which the user may keep device groups."""
    units = units_for_user(user, GROUP_CAPABILITIES[0])
    for capability in GROUP_CAPABILITIES[1:]:
        units = units | units_for_user(user, capability)
    return units.distinct()
