from django.urls import path

from nguon.broadcast import schedule_views as views

app_name = "schedules"
urlpatterns = [
    path("", views.index, name="index"),
    path("slot/<int:slot_id>/", views.slot_detail, name="slot"),
    path("slot/<int:slot_id>/edit/", views.slot_edit, name="slot_edit"),
    path("slot/<int:slot_id>/delete/", views.slot_delete, name="slot_delete"),
    path("slot/<int:slot_id>/items/<int:item_id>/move/", views.slot_item_move, name="slot_item_move"),
    path("slot/<int:slot_id>/save-template/", views.slot_save_template, name="slot_save_template"),
    path("template/<int:template_id>/delete/", views.template_delete, name="template_delete"),
    path("device/<int:device_id>/week/", views.device_week, name="device_week"),
    path("live/<int:live_id>/stop/", views.live_stop, name="live_stop"),
    path("<str:code>/", views.unit_slots, name="unit"),
    path("<str:code>/week/", views.unit_week, name="unit_week"),
    path("<str:code>/new/", views.slot_create, name="slot_create"),
    path("<str:code>/check/", views.slot_check, name="slot_check"),
    path("<str:code>/live/", views.live_page, name="live"),
]
