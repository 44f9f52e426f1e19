"""Back-office pages for handling feedback."""

from django.urls import path

from nguon.feedback import staff_views

urlpatterns = [
    path("", staff_views.feedback_list, name="list"),
    path("<int:pk>/", staff_views.feedback_detail, name="detail"),
]
