from django.contrib import admin
from django.urls import include, path

from nguon.broadcast import device_api
from nguon.config.api import api

urlpatterns = [
    path("", include("nguon.core.urls")),
    path("units/", include("nguon.units.urls")),
    path("accounts/", include("nguon.accounts.urls")),
    path("audit/", include("nguon.audit.urls")),
    path("bulletins/", include("nguon.content.urls")),
    path("speech/", include("nguon.speech.urls")),
    path("schedules/", include("nguon.broadcast.schedule_urls")),
    path("devices/", include("nguon.broadcast.urls")),
    path("board/", include("nguon.broadcast.board_urls")),
    path("alerts/", include("nguon.alerts.urls")),
    path("canh-bao/", include("nguon.alerts.public_urls")),
    path("notifications/", include("nguon.notifications.urls")),
    path("feedback/", include("nguon.feedback.urls")),
    path("phan-anh/", include("nguon.feedback.public_urls")),
    path("open311/", include("nguon.feedback.open311.urls")),
    path("reports/", include("nguon.reports.urls")),
    path("central/", include("nguon.central.urls")),
    path("captcha/", include("captcha.urls")),
    path("help/", include("nguon.help.urls")),
    path("api/", api.urls),
    path("device/v1/", device_api.urls()),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

# Error pages in the reader's language, JSON under /api/ and /device/ (nguon/core/error_views.py).
handler400 = "nguon.core.error_views.bad_request"
handler403 = "nguon.core.error_views.permission_denied"
handler404 = "nguon.core.error_views.page_not_found"
handler500 = "nguon.core.error_views.server_error"
