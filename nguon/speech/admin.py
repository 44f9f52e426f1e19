from django.contrib import admin

from nguon.speech.models import LexiconEntry, SpeechRender


@admin.register(LexiconEntry)
class LexiconEntryAdmin(admin.ModelAdmin):
    list_display = ["term", "spoken", "unit", "is_active"]
    search_fields = ["term", "spoken"]


@admin.register(SpeechRender)
class SpeechRenderAdmin(admin.ModelAdmin):
    list_display = ["key", "status", "engine", "voice", "duration", "loudness_lufs", "created_at"]
    list_filter = ["status", "engine"]
    readonly_fields = [f.name for f in SpeechRender._meta.fields]
