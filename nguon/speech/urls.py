from django.urls import path

from nguon.speech import views

app_name = "speech"
urlpatterns = [
    path("renders/<int:render_id>/", views.render_status, name="render"),
    path("renders/<int:render_id>/retry/", views.render_retry, name="retry"),
    path("bulletins/<int:bulletin_id>/render/", views.render_bulletin, name="render_bulletin"),
    path("lexicon/", views.lexicon, name="lexicon"),
    path("lexicon/<int:entry_id>/delete/", views.lexicon_delete, name="lexicon_delete"),
]
