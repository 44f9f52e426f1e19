from django.urls import path

from nguon.content import views

app_name = "content"
urlpatterns = [
    path("", views.bulletin_list, name="list"),
    path("repository/", views.repository, name="repository"),
    path("inbox/", views.inbox, name="inbox"),
    path("new/", views.bulletin_create, name="create"),
    path("check/", views.bulletin_check, name="check"),
    path("import/", views.bulletin_import, name="import"),
    path("<int:bulletin_id>/", views.bulletin_detail, name="detail"),
    path("<int:bulletin_id>/edit/", views.bulletin_edit, name="edit"),
    path("<int:bulletin_id>/check/", views.bulletin_check, name="check_existing"),
    path("<int:bulletin_id>/submit/", views.bulletin_submit, name="submit"),
    path("<int:bulletin_id>/approve/", views.bulletin_approve, name="approve"),
    path("<int:bulletin_id>/return/", views.bulletin_return, name="return"),
    path("<int:bulletin_id>/withdraw/", views.bulletin_withdraw, name="withdraw"),
    path("<int:bulletin_id>/adopt/", views.bulletin_adopt, name="adopt"),
    path("media/", views.media_list, name="media_list"),
    path("media/upload/", views.media_upload, name="media_upload"),
    path("media/<str:sha256>/", views.media_file, name="media_file"),
]
