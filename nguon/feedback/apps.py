from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "nguon.feedback"
    verbose_name = _("Citizen feedback")

    def ready(self) -> None:
        from nguon.feedback import receivers  # noqa: F401  (tells citizens and staff after each step)
