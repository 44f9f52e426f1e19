from django.urls import path

from nguon.broadcast.board import board, service_worker

app_name = "board"
urlpatterns = [
    path("", board, name="player"),
    path("sw.js", service_worker, name="service-worker"),
]
