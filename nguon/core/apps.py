from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    default = True
    name = "nguon.core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from nguon.core import (
            checks,  # noqa: F401
            collation,  # noqa: F401 (installs the SQLite collation on each connection)
        )


class NguonAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "nguon.core.admin_site.NguonAdminSite"
