from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from nguon.core.dashboard import what_needs_me


@login_required
def dashboard(request):
    """What needs the signed-in person now (see nguon/core/dashboard.py)."""
    context = {"grants": request.user.active_grants(), **what_needs_me(request.user)}
    return render(request, "core/dashboard.html", context)
