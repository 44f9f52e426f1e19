"""The public form and the citizen's status pages."""

from django.urls import path

from nguon.feedback import public_views

urlpatterns = [
    path("", public_views.submit, name="form"),
    path("tra-cuu/", public_views.track, name="track"),
    path("tra-cuu/danh-gia/", public_views.rate, name="rate"),
    path("tra-cuu/mo-lai/", public_views.reopen, name="reopen"),
    path("t/<str:token>/", public_views.status, name="status"),
    path("qr.svg", public_views.qr, name="qr"),
]
