from django.contrib import admin

from nguon.feedback.models import PartnerKey, RoutingRule, Topic


class RoutingRuleInline(admin.TabularInline):
    model = RoutingRule
    extra = 0
    autocomplete_fields = ["unit", "organisation"]


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "organisation", "deadline_days", "is_active", "position"]
    list_editable = ["deadline_days", "is_active", "position"]
    search_fields = ["name", "code", "keywords"]
    inlines = [RoutingRuleInline]


@admin.register(PartnerKey)
class PartnerKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "unit", "can_submit", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]
