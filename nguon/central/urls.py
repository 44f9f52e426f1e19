"""Back-office URLs of the central link, one module per area, under the "central" namespace."""

app_name = "central"

urlpatterns: list = []
