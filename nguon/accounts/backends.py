from django.contrib.auth.backends import ModelBackend


class RoleBackend(ModelBackend):
    """Password sign-in; province-wide system administrators hold every model permission (Django admin)."""

    def has_perm(self, user_obj, perm, obj=None):
        from nguon.accounts.access import is_root_admin

        return is_root_admin(user_obj) or super().has_perm(user_obj, perm, obj)

    def has_module_perms(self, user_obj, app_label):
        from nguon.accounts.access import is_root_admin

        return is_root_admin(user_obj) or super().has_module_perms(user_obj, app_label)
