from django.urls import path

from nguon.feedback import public_views

app_name = "feedback_public"

urlpatterns = [
    path("", public_views.submit, name="form"),
    path("tra-cuu/", public_views.track, name="track"),
    path("t/<str:token>/", public_views.status, name="status"),
]
