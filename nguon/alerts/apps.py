from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "nguon.alerts"
    verbose_name = _("Emergency alerts")

    def ready(self) -> None:
        from nguon.alerts import receivers  # noqa: F401
