from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BroadcastConfig(AppConfig):
    name = "nguon.broadcast"
    verbose_name = _("Distribution")

    def ready(self) -> None:
        from nguon.broadcast import receivers  # noqa: F401
