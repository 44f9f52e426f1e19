from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from nguon.accounts.models import RoleGrant, User


class RoleGrantInline(admin.TabularInline):
    model = RoleGrant
    fk_name = "user"
    extra = 0
    raw_id_fields = ["unit"]
    readonly_fields = ["granted_by", "granted_at", "revoked_by", "revoked_at"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "full_name", "unit", "is_active", "last_login"]
    search_fields = ["username", "full_name", "email"]
    raw_id_fields = ["unit", "organisation"]
    fieldsets = [*BaseUserAdmin.fieldsets, ("Nguồn", {"fields": ["full_name", "phone", "unit", "organisation"]})]
    inlines = [RoleGrantInline]
