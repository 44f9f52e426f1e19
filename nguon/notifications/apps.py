from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "nguon.notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from nguon.notifications import receivers  # noqa: F401  (connects to the other apps' signals)
