from django.urls import path

from nguon.alerts import views

app_name = "alerts"
urlpatterns = [
    path("", views.alert_list, name="list"),
    path("new/", views.alert_create, name="create"),
    path("import/", views.alert_import, name="import"),
    path("<int:alert_id>/", views.alert_detail, name="detail"),
    path("<int:alert_id>/approve/", views.alert_approve, name="approve"),
    path("<int:alert_id>/reject/", views.alert_reject, name="reject"),
    path("<int:alert_id>/cancel/", views.alert_cancel, name="cancel"),
    path("<int:alert_id>/cap.xml", views.alert_cap, name="cap"),
    path("<int:alert_id>/delivery/", views.alert_delivery, name="delivery"),
    path("<int:alert_id>/delivery/counts/", views.alert_delivery_counts, name="delivery_counts"),
]
