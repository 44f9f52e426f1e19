from django.urls import path

from nguon.help import views

app_name = "help"
urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:slug>/", views.guide, name="guide"),
]
