from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _

from nguon.accounts.models import RoleGrant, User
from nguon.core.forms import XmlSafeFormMixin


class RoleGrantInline(admin.TabularInline):
    model = RoleGrant
    fk_name = "user"
    extra = 0
    raw_id_fields = ["unit"]
    readonly_fields = ["granted_by", "granted_at", "revoked_by", "revoked_at"]


class UserCreationForm(XmlSafeFormMixin, AdminUserCreationForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "usable_password" in self.fields:
            # Django's own text has no Vietnamese translation yet.
            self.fields["usable_password"].help_text = _(
                "Whether the account can sign in with a password. Without one, it cannot sign in until a "
                "password is set."
            )


class UserEditForm(XmlSafeFormMixin, UserChangeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "password" in self.fields:
            self.fields["password"].help_text = _(
                "Passwords are stored only as a one-way hash, so nobody can read them. Set a new one with the "
                "reset button."
            )


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    add_form = UserCreationForm
    form = UserEditForm
    list_display = ["username", "full_name", "unit", "is_active", "last_login"]
    search_fields = ["username", "full_name", "email"]
    raw_id_fields = ["unit", "organisation"]
    fieldsets = [*BaseUserAdmin.fieldsets, ("Nguồn", {"fields": ["full_name", "phone", "unit", "organisation"]})]
    inlines = [RoleGrantInline]
