from django.urls import path

from nguon.broadcast.board import board

app_name = "board"
urlpatterns = [path("", board, name="player")]
