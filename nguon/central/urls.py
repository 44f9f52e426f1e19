"""Back-office URLs of the central link, one module per area, under the "central" namespace."""

app_name = "central"

urlpatterns: list = []

from nguon.central import children_urls  # noqa: E402

urlpatterns += children_urls.urlpatterns
