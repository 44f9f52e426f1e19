"""Back-office URLs of the feedback app, one module per area, under the "feedback" namespace."""

from nguon.feedback import figures_urls, qa_staff_urls, staff_urls
from nguon.feedback.open311 import key_urls

app_name = "feedback"

urlpatterns = [
    *figures_urls.urlpatterns,
    *key_urls.urlpatterns,
    *qa_staff_urls.urlpatterns,
    *staff_urls.urlpatterns,
]
