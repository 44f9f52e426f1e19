"""The report archive and the schedules."""

from django.urls import path

from nguon.reports import archive_views

urlpatterns = [
    path("archive/", archive_views.archive, name="archive"),
    path("archive/new/", archive_views.run_create, name="run_create"),
    path("archive/<int:pk>/", archive_views.run_detail, name="run"),
    path("archive/<int:pk>/<str:fmt>/", archive_views.run_file, name="run_file"),
    path("schedules/", archive_views.schedule_list, name="schedules"),
    path("schedules/new/", archive_views.schedule_create, name="schedule_create"),
    path("schedules/<int:pk>/", archive_views.schedule_edit, name="schedule_edit"),
    path("schedules/<int:pk>/delete/", archive_views.schedule_delete, name="schedule_delete"),
]
