from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CentralConfig(AppConfig):
    name = "nguon.central"
    verbose_name = _("Link with the central source system")

    def ready(self) -> None:
        from nguon.central import apply, content_labels, down  # noqa: F401  (message kinds, audit labels, signals)
