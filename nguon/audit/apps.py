from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "nguon.audit"
    verbose_name = _("Audit log")

    def ready(self) -> None:
        from nguon.audit import receivers  # noqa: F401

        # Each app names its own audit actions in `<app>/audit_labels.py` (see nguon/audit/labels.py).
        autodiscover_modules("audit_labels")
