from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from nguon.units.models import Organisation, Unit, UnitType


@admin.register(UnitType)
class UnitTypeAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "english_name", "level"]

    @admin.display(description=_("English name"), ordering="name_en")
    def english_name(self, obj):
        # Marked as English so that readers (and screen readers) know it is not an untranslated label.
        return format_html('<span lang="en">{}</span>', obj.name_en) if obj.name_en else ""


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "unit_type", "parent", "valid_from", "valid_to"]
    list_filter = ["unit_type", "valid_to"]
    search_fields = ["code", "name", "name_folded"]
    readonly_fields = ["path", "code", "source"]
    list_select_related = ["unit_type", "parent"]
    raw_id_fields = ["parent"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "unit", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]
    raw_id_fields = ["unit"]
