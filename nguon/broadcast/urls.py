from django.urls import path

from nguon.broadcast import views

app_name = "broadcast"
urlpatterns = [
    path("", views.fleet, name="fleet"),
    path("map/", views.fleet_map, name="map"),
    path("stats/", views.play_stats, name="stats"),
    path("new/", views.device_create, name="create"),
    path("<int:device_id>/", views.device_detail, name="detail"),
    path("<int:device_id>/edit/", views.device_edit, name="edit"),
    path("<int:device_id>/enrolment-code/", views.device_enrolment_code, name="enrolment_code"),
    path("<int:device_id>/revoke/", views.device_revoke, name="revoke"),
    path("groups/", views.group_list, name="groups"),
    path("groups/new/", views.group_create, name="group_create"),
    path("groups/<int:group_id>/", views.group_edit, name="group_edit"),
]
