"""ASGI entry point; device routes will be mounted in front of Django here."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nguon.config.settings")
application = get_asgi_application()
