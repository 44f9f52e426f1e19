"""The feedback dashboard (figures and charts)."""

urlpatterns: list = []
