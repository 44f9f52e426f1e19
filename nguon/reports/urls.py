"""Back-office URLs of the reports app, one module per area, under the "reports" namespace."""

from nguon.reports import archive_urls, page_urls

app_name = "reports"

urlpatterns = [
    *page_urls.urlpatterns,
    *archive_urls.urlpatterns,
]
