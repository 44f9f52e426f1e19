"""The e-board player: one static page for kiosk browsers at /board/.

The page holds no secret and needs no sign-in: it enrols itself with a one-time code and then talks only to the
device protocol (/device/v1, docs/device-protocol.md) with the token it keeps in localStorage.
"""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from nguon.broadcast.protocol import BASE


@never_cache
@require_GET
def board(request):
    response = render(request, "broadcast/board.html", {"api_base": BASE})
    # The page talks to its own origin only; the token must never leave in a Referer.
    response["Referrer-Policy"] = "no-referrer"
    return response
