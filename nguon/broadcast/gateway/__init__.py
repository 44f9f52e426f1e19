"""The device gateway: a thin async ASGI layer in front of Django for the hot device paths.

GET /device/v1/manifest, GET /device/v1/media/<sha256>, GET /device/v1/events and POST /device/v1/reports are
answered here on the event loop, without Django's middleware or its per-request thread hops (see "The device
gateway" in the architecture brief for why). Everything else, and anything the gateway cannot answer from its
caches (a manifest not compiled yet, media on S3), goes on to the Django ASGI app unchanged.

State lives in this process: a token cache, a manifest cache, the SSE hub and the report writer. The outbox
(PushEvent rows) keeps several processes in step: every gateway reads it, woken by the database (wake.py), and
acknowledgements taken by one are passed to the others on the same channel.
"""

from nguon.broadcast.gateway.app import Gateway

__all__ = ["Gateway"]
