from django.contrib import admin

from nguon.broadcast.models import (
    Device,
    DeviceFault,
    DeviceGroup,
    DeviceStatusChange,
    LiveBroadcast,
    ProgrammeTemplate,
    Slot,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Browse only: devices, groups and slots change through their actions in the back office (audit, recompile)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class StatusChangeInline(admin.TabularInline):
    model = DeviceStatusChange
    fields = ["at", "online", "reason"]
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-at"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Device)
class DeviceAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "unit", "kind", "technology", "is_active", "is_online", "last_seen_at"]
    list_filter = ["kind", "technology", "is_active", "is_online"]
    search_fields = ["code", "name", "model"]
    list_select_related = ["unit"]
    exclude = ["last_status"]
    inlines = [StatusChangeInline]


@admin.register(DeviceGroup)
class DeviceGroupAdmin(ReadOnlyAdmin):
    list_display = ["name", "unit"]
    search_fields = ["name"]
    list_select_related = ["unit"]


@admin.register(Slot)
class SlotAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "unit", "recurrence", "start_date", "end_date", "is_active"]
    list_filter = ["recurrence", "is_active"]
    list_select_related = ["unit"]


@admin.register(DeviceFault)
class DeviceFaultAdmin(ReadOnlyAdmin):
    list_display = ["device", "code", "at", "cleared_at"]
    list_filter = ["code"]
    list_select_related = ["device"]


@admin.register(ProgrammeTemplate)
class ProgrammeTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "unit"]


@admin.register(LiveBroadcast)
class LiveBroadcastAdmin(admin.ModelAdmin):
    list_display = ["title", "unit", "started_at", "stopped_at"]
