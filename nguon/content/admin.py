from django.contrib import admin

from nguon.content.models import Adoption, Bulletin, Category, MediaAsset, Revision, WorkflowEvent


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "order", "is_active"]
    list_editable = ["order", "is_active"]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        # Every shown field is read-only, non-editable ones (content_hash) included: listing one that is not
        # made the bulletin's admin page fail with a FieldError.
        return self.fields


class RevisionInline(ReadOnlyInline):
    model = Revision
    fields = ["number", "title", "created_by", "created_at", "content_hash"]


class HistoryInline(ReadOnlyInline):
    model = WorkflowEvent
    fields = ["at", "action", "from_status", "to_status", "actor", "comment"]


@admin.register(Bulletin)
class BulletinAdmin(admin.ModelAdmin):
    """Read-only here: the workflow runs through its actions in the back office."""

    list_display = ["title", "owner_unit", "status", "priority", "updated_at"]
    list_filter = ["status", "priority", "source"]
    search_fields = ["title", "search_folded"]
    inlines = [RevisionInline, HistoryInline]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(MediaAsset)
class MediaAssetAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "size", "unit", "created_at"]
    list_filter = ["kind", "is_generated"]
    search_fields = ["title", "sha256", "original_name"]
    readonly_fields = ["sha256", "size", "file", "mime_type", "extension", "duration", "loudness_lufs"]


@admin.register(Adoption)
class AdoptionAdmin(admin.ModelAdmin):
    list_display = ["bulletin", "unit", "how", "at"]
