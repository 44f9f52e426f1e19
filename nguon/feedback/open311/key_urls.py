"""Back-office pages for partner API keys (Open311), in the "feedback" namespace."""

from django.urls import path

from nguon.feedback.open311 import key_views

urlpatterns = [
    path("partner-keys/", key_views.key_list, name="keys"),
    path("partner-keys/<int:pk>/revoke/", key_views.key_revoke, name="key_revoke"),
]
