"""The public form and the citizen's status pages."""

from django.urls import path

from nguon.feedback import public_views

urlpatterns = [
    path("", public_views.submit, name="form"),
    path("tra-cuu/", public_views.track, name="track"),
    path("t/<str:token>/", public_views.status, name="status"),
]
