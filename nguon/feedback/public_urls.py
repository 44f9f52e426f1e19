"""Public URLs of the feedback app (/phan-anh/), under the "feedback_public" namespace."""

from nguon.feedback import form_urls, qa_urls

app_name = "feedback_public"

urlpatterns = [*qa_urls.urlpatterns, *form_urls.urlpatterns]
