from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from nguon.audit.labels import action_label, actor_label, channel_label
from nguon.audit.models import AuditCheck, AuditEvent
from nguon.lib.collation import vi_key


class ActionFilter(admin.SimpleListFilter):
    """Actions by their label, not the stored code."""

    title = _("action")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        codes = model_admin.get_queryset(request).order_by().values_list("action", flat=True).distinct()
        return sorted(((code, action_label(code)[0]) for code in codes), key=lambda pair: vi_key(pair[1]))

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


class ChannelFilter(admin.SimpleListFilter):
    """Channels by their label (Web, Background worker, Command demo), not the stored code."""

    title = _("channel")
    parameter_name = "channel"

    def lookups(self, request, model_admin):
        codes = model_admin.get_queryset(request).order_by().values_list("channel", flat=True).distinct()
        return [(code, channel_label(code)) for code in sorted(codes)]

    def queryset(self, request, queryset):
        return queryset.filter(channel=self.value()) if self.value() else queryset


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "at", "actor_name", "action_name", "object_repr", "ip"]
    list_filter = [ActionFilter, ChannelFilter]
    search_fields = ["actor_label", "object_repr", "action"]

    def get_fields(self, request, obj=None):
        # Codes read as their labels on the detail page too.
        names = {"action": "action_name", "channel": "channel_name"}
        return [names.get(name, name) for name in super().get_fields(request, obj)]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "action_name", "channel_name"]

    @admin.display(description=_("user"), ordering="actor_label")
    def actor_name(self, obj):
        return actor_label(obj.actor_label)

    @admin.display(description=_("action"), ordering="action")
    def action_name(self, obj):
        return action_label(obj.action)[0]

    @admin.display(description=_("channel"), ordering="channel")
    def channel_name(self, obj):
        return channel_label(obj.channel)


@admin.register(AuditCheck)
class AuditCheckAdmin(ReadOnlyAdmin):
    list_display = ["at", "ok", "checked", "channel_name"]

    @admin.display(description=_("channel"), ordering="channel")
    def channel_name(self, obj):
        return channel_label(obj.channel)
