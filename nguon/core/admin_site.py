from django.contrib.admin import AdminSite
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _


class NguonAdminSite(AdminSite):
    """The Django admin, for province-wide system administrators who passed TOTP."""

    site_header = _("Nguồn: technical tables")
    site_title = _("Nguồn admin")

    def has_permission(self, request):
        from nguon.accounts.access import is_root_admin

        user = request.user
        return is_root_admin(user) and user.is_verified()

    def login(self, request, extra_context=None):
        # One sign-in page for everything, with its lockout and second factor.
        return redirect(f"{reverse('accounts:login')}?{urlencode({'next': request.get_full_path()})}")
