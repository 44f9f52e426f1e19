from django.urls import path

from nguon.notifications import views

app_name = "notifications"
urlpatterns = [
    path("", views.notification_list, name="list"),
    path("badge/", views.badge, name="badge"),
    path("read-all/", views.read_all, name="read_all"),
    path("settings/", views.preferences, name="preferences"),
    path("<int:notification_id>/read/", views.read, name="read"),
    path("<int:notification_id>/open/", views.open_link, name="open"),
]
