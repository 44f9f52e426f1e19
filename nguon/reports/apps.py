from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "nguon.reports"
    verbose_name = _("Statistics and reports")

    def ready(self) -> None:
        from nguon.reports import receivers  # noqa: F401  (keeps the roll-ups in step with what arrives)
