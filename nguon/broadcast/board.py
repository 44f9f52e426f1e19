"""The e-board player: one static page for kiosk browsers at /board/, and its service worker at /board/sw.js.

The page holds no secret and needs no sign-in: it enrols itself with a one-time code and then talks only to the
device protocol (/device/v1, docs/device-protocol.md) with the token it keeps in localStorage. Its scripts are ES
modules under static/nguon/board/ (no inline script: the page runs under the site's Content-Security-Policy).
"""

from __future__ import annotations

import hashlib
import json

from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from nguon.broadcast.protocol import BASE

# The player's modules (static/nguon/board/<name>.js): the service worker keeps them for a restart without network.
MODULES = ("main", "state", "crypto", "enrol", "manifest", "screen", "reports", "alerts", "events")


@never_cache
@require_GET
def board(request):
    response = render(request, "broadcast/board.html", {"api_base": BASE})
    # The page talks to its own origin only; the token must never leave in a Referer.
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
@require_GET
def service_worker(request):
    """The board's service worker: it keeps the page and its scripts in Cache Storage, so that a board restarted
    without network still starts (its manifest is in localStorage, its media in Cache Storage, see manifest.js)."""
    shell = [request.path.rsplit("/", 1)[0] + "/", static("nguon/board.css")]
    shell += [static(f"nguon/board/{name}.js") for name in MODULES]
    # A new list of files (or new static names) makes a new cache, and the old one is dropped on activation.
    version = hashlib.sha256("\n".join(shell).encode()).hexdigest()[:12]
    response = render(
        request,
        "broadcast/board_sw.js",
        {"shell": json.dumps(shell), "version": version},
        content_type="text/javascript; charset=utf-8",
    )
    # Its path is under /board/ already, so its default scope covers the page; said explicitly for proxies that
    # rewrite paths.
    response["Service-Worker-Allowed"] = request.path.rsplit("/", 1)[0] + "/"
    return response
