from django.contrib import admin

from nguon.audit.models import AuditCheck, AuditEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "at", "actor_label", "action", "object_repr", "ip"]
    list_filter = ["action", "channel"]
    search_fields = ["actor_label", "object_repr", "action"]


@admin.register(AuditCheck)
class AuditCheckAdmin(ReadOnlyAdmin):
    list_display = ["at", "ok", "checked", "channel"]
