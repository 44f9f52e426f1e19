from django.contrib import admin

from nguon.notifications.models import Delivery, Notification


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    readonly_fields = ["channel", "address", "state", "attempts", "last_error", "next_attempt_at", "sent_at"]
    fields = readonly_fields


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Read-only: notifications are written by the events that cause them."""

    list_display = ["created_at", "recipient", "kind", "title", "read_at"]
    list_filter = ["kind"]
    search_fields = ["title", "recipient__username"]
    list_select_related = ["recipient"]
    readonly_fields = ["recipient", "kind", "title", "body", "link", "unit", "key", "sound", "created_at", "read_at"]
    inlines = [DeliveryInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "channel", "address", "state", "attempts", "sent_at"]
    list_filter = ["channel", "state"]
    search_fields = ["address"]
    readonly_fields = [
        "notification", "channel", "address", "state", "attempts", "last_error", "next_attempt_at", "claimed_at",
        "sent_at", "created_at",
    ]  # fmt: skip

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
