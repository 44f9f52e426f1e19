"""Back-office pages for partner API keys (Open311)."""

urlpatterns: list = []
