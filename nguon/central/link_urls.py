"""Back-office pages of the federation link."""

from django.urls import path

from nguon.central import views

urlpatterns = [
    path("", views.links, name="links"),
    path("codes/", views.create_code, name="create_code"),
    path("pair/", views.pair, name="pair"),
    path("links/<int:pk>/suspend/", views.set_state, {"state": "suspend"}, name="suspend"),
    path("links/<int:pk>/resume/", views.set_state, {"state": "resume"}, name="resume"),
]
