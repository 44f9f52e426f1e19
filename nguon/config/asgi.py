"""ASGI entry point: the device gateway answers the hot device paths, Django everything else."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nguon.config.settings")
django_application = get_asgi_application()  # sets Django up: import the gateway after it

from nguon.broadcast.gateway import Gateway  # noqa: E402

application = Gateway(django_application)
