"""Back-office pages for feedback (placeholder: the staff pages are built on top of the actions)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def feedback_list(request):
    return HttpResponse("feedback list")


@login_required
def feedback_detail(request, pk: int):
    return HttpResponse(f"feedback {pk}")
