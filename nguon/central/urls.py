"""Back-office URLs of the central link, one module per area, under the "central" namespace."""

from nguon.central import children_urls, link_urls

app_name = "central"

urlpatterns: list = [*link_urls.urlpatterns, *children_urls.urlpatterns]
