"""Back-office steps of the questions and answers (publish, take down, draft a bulletin), under "feedback"."""

from django.urls import path

from nguon.feedback import qa_staff_views

urlpatterns = [
    path("<int:pk>/publish/", qa_staff_views.publish, name="publish"),
    path("<int:pk>/unpublish/", qa_staff_views.unpublish, name="unpublish"),
    path("<int:pk>/make-bulletin/", qa_staff_views.make_bulletin, name="make_bulletin"),
]
