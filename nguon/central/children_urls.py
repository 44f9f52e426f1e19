"""Pages of what children send up, and the step that shares a bulletin up (appended to the central URLs)."""

from django.urls import path

from nguon.central import content_views as views

urlpatterns = [
    path("children/", views.children, name="children"),
    path("children/<int:link_id>/", views.child_detail, name="child"),
    path("children/<int:link_id>/bulletins/<int:shared_id>/", views.shared_bulletin, name="shared_bulletin"),
    path("share/<int:bulletin_id>/", views.share_up, name="share_up"),
]
