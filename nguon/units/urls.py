from django.urls import path

from nguon.units import views

app_name = "units"
urlpatterns = [
    path("", views.unit_list, name="list"),
    path("<str:code>/", views.unit_detail, name="detail"),
    path("<str:code>/edit/", views.unit_update, name="update"),
    path("<str:code>/organisations/new/", views.organisation_create, name="organisation_create"),
]
