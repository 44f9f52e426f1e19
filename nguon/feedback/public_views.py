"""Public pages for citizens (placeholder: the form and status pages are built on top of the actions)."""

from django.http import HttpResponse


def submit(request):
    return HttpResponse("feedback form")


def track(request):
    return HttpResponse("track")


def status(request, token: str):
    return HttpResponse("status")
