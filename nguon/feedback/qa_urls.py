"""The public questions and answers pages."""

from django.urls import path

from nguon.feedback import qa_views

urlpatterns = [
    path("hoi-dap/", qa_views.qa_list, name="qa"),
    path("hoi-dap/<str:number>/", qa_views.qa_item, name="qa_item"),
]
