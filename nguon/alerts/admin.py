from django.contrib import admin

from nguon.alerts.actions import do_set_alert_rule, do_update_sender
from nguon.alerts.models import Alert, AlertApproval, AlertRule, AlertSender


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ["unit", "approvals_required"]
    list_filter = ["approvals_required"]
    search_fields = ["unit__code", "unit__name"]
    list_select_related = ["unit"]
    raw_id_fields = ["unit"]

    def save_model(self, request, obj, form, change):
        if change and "unit" in form.changed_data:  # moved to another unit: the old unit loses its rule
            do_set_alert_rule(AlertRule.objects.get(pk=obj.pk).unit, None, acting_user=request.user)
        saved = do_set_alert_rule(obj.unit, obj.approvals_required, acting_user=request.user)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        do_set_alert_rule(obj.unit, None, acting_user=request.user)

    def delete_queryset(self, request, queryset):
        for rule in queryset.select_related("unit"):
            do_set_alert_rule(rule.unit, None, acting_user=request.user)


@admin.register(AlertSender)
class AlertSenderAdmin(admin.ModelAdmin):
    """Senders are registered with `nguon alert_sender` (through `do_add_sender`, which prints the token once and
    audits it); here they can be renamed or switched off. Only the token's hash is stored."""

    list_display = ["name", "cap_sender", "unit", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "cap_sender"]
    list_select_related = ["unit"]
    fields = ["name", "cap_sender", "unit", "is_active", "token_hash", "created_at"]
    readonly_fields = ["cap_sender", "unit", "token_hash", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        stored = AlertSender.objects.get(pk=obj.pk)
        do_update_sender(stored, name=obj.name, is_active=obj.is_active, acting_user=request.user)


class ApprovalInline(admin.TabularInline):
    model = AlertApproval
    fields = ["user", "at"]
    extra = 0
    max_num = 0
    can_delete = False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """Browse only: alerts are composed, approved and cancelled in the back office, through their actions."""

    list_display = ["headline", "unit", "status", "msg_type", "severity", "state", "origin", "sent", "expires"]
    list_filter = ["state", "status", "msg_type", "severity", "origin"]
    search_fields = ["headline", "event", "identifier", "sender"]
    list_select_related = ["unit"]
    date_hierarchy = "sent"
    inlines = [ApprovalInline]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
