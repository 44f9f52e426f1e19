"""Back-office pages for handling feedback."""

from django.urls import path

from nguon.feedback import staff_views

urlpatterns = [
    path("", staff_views.feedback_list, name="list"),
    path("new/", staff_views.feedback_create, name="create"),
    path("<int:pk>/", staff_views.feedback_detail, name="detail"),
    path("<int:pk>/contact/", staff_views.feedback_contact, name="contact"),
    path("<int:pk>/files/<int:attachment_id>/", staff_views.attachment_file, name="file"),
    path("<int:pk>/<slug:step>/", staff_views.feedback_step, name="step"),
]
