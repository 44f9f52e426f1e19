"""Report pages and downloads."""

from django.urls import path

from nguon.reports import views

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("<slug:kind>/", views.report_page, name="report"),
    path("<slug:kind>/download.<slug:fmt>", views.download, name="download"),
]
