"""Open311 GeoReport v2 endpoints, mounted at /open311/ (the format is the path's extension: .xml or .json)."""

from django.urls import path, re_path

from nguon.feedback.open311 import views

app_name = "open311"

FMT = r"(?P<fmt>xml|json)"

urlpatterns = [
    re_path(rf"^discovery\.{FMT}$", views.discovery, name="discovery"),
    re_path(rf"^services\.{FMT}$", views.services, name="services"),
    re_path(rf"^services/(?P<service_code>[^/]+)\.{FMT}$", views.service_definition, name="service"),
    re_path(rf"^requests\.{FMT}$", views.service_requests, name="requests"),
    re_path(rf"^requests/(?P<service_request_id>[^/]+)\.{FMT}$", views.service_request, name="request"),
    re_path(rf"^tokens/(?P<token>[^/]+)\.{FMT}$", views.token, name="token"),
    path("<path:path>", views.not_found),
    path("", views.not_found),
]
