"""Report pages and downloads."""

from django.urls import path

from nguon.reports import views

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
]
