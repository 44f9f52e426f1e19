from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from nguon.speech.models import LexiconEntry, SpeechRender


@admin.register(LexiconEntry)
class LexiconEntryAdmin(admin.ModelAdmin):
    list_display = ["term", "spoken", "unit", "is_active"]
    search_fields = ["term", "spoken"]


@admin.register(SpeechRender)
class SpeechRenderAdmin(admin.ModelAdmin):
    list_display = ["key", "status", "engine", "voice", "duration", "loudness_lufs", "created_at"]
    list_filter = ["status", "engine"]
    # The stage is shown by its label (the stored value is the pipeline's English name).
    readonly_fields = [f.name if f.name != "stage" else "stage_shown" for f in SpeechRender._meta.fields]
    exclude = ["stage"]

    @admin.display(description=_("stage"))
    def stage_shown(self, obj: SpeechRender) -> str:
        return obj.stage_label
