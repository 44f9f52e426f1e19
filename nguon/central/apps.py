from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CentralConfig(AppConfig):
    name = "nguon.central"
    verbose_name = _("Link with the central source system")
