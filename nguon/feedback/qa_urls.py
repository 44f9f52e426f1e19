"""The public questions and answers pages."""

urlpatterns: list = []
