"""Back-office URLs of the reports app, one module per area, under the "reports" namespace."""

from nguon.reports import archive_urls, page_urls

app_name = "reports"

urlpatterns = [
    # Before the report pages: their "<kind>/" would take "archive/" and "schedules/" as report kinds.
    *archive_urls.urlpatterns,
    *page_urls.urlpatterns,
]
