from django.urls import path

from nguon.alerts import public_views

app_name = "public_alerts"
urlpatterns = [
    path("", public_views.index, name="index"),
    path("feed.atom", public_views.feed, name="feed"),
    path("<int:pk>.xml", public_views.cap_document, name="cap"),
]
