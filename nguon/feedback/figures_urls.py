"""The feedback dashboard (figures and charts)."""

from django.urls import path

from nguon.feedback import figures_views

urlpatterns = [path("dashboard/", figures_views.dashboard, name="dashboard")]
