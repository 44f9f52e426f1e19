"""The link with the central source system: peers, pairing, the signed outbox and inbox (`link_models`), and
what arrives from children and parents (`content_models`)."""

from nguon.central.content_models import *  # noqa: F403
from nguon.central.link_models import *  # noqa: F403
