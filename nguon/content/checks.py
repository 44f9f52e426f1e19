"""Warnings about a bulletin that never stop it from being saved: what the editor should look at before the audio is
rendered and the bulletin approved. Shown live in the editor, after saving, and in the API as `warnings`.

- `long_speech`: read aloud (estimated from espeak-ng's measured speed at NGUON_TTS_RATE), the loudspeaker text
  lasts more than ten minutes;
- `publish_time_past`: the publish time of a bulletin not yet published has passed, so it goes out as soon as it is
  approved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from nguon.content.actions import BulletinData, clean_text_fields
from nguon.content.text import speech_source

MAX_CHECKED_CHARS = 200_000
# The editor's datetime field has minute precision: "now", typed in, is up to a minute old when it arrives.
PAST_GRACE = timedelta(minutes=2)


@dataclass(frozen=True)
class BulletinWarning:
    code: str
    message: str


@dataclass
class SpeechCheck:
    """The spoken text as the renderer will say it (a NormalizationReport), its estimated length, the warnings."""

    report: object
    seconds: float
    warnings: list[BulletinWarning] = field(default_factory=list)

    @property
    def minutes_seconds(self) -> tuple[int, int]:
        """The estimate as whole minutes and the seconds left over, for display."""
        return divmod(round(self.seconds), 60)


def draft_speech_source(data: BulletinData) -> str:
    """The text loudspeakers will read from what the editor has typed, cleaned as a saved revision is."""
    cleaned = clean_text_fields(
        BulletinData(title=data.title, summary=data.summary, body=data.body, spoken_text=data.spoken_text)
    )
    return speech_source(
        title=cleaned.title, summary=cleaned.summary, body=cleaned.body, spoken_text=cleaned.spoken_text
    )


def _speech(source: str, unit) -> tuple[object, float, list[BulletinWarning]]:
    from nguon.speech import config, duration
    from nguon.speech.actions import spoken_report

    report = spoken_report(source, unit)
    seconds = duration.estimate_seconds(report.text, config.speaking_rate())
    warnings = []
    if duration.is_long(seconds):
        warnings.append(
            BulletinWarning(
                "long_speech",
                _(
                    "Read aloud, this bulletin lasts about %(minutes)s minutes, more than %(limit)s: listeners at "
                    "the loudspeakers stop following. Consider a shorter text for loudspeakers."
                )
                % {"minutes": round(seconds / 60), "limit": duration.LONG_SPEECH_SECONDS // 60},
            )
        )
    return report, seconds, warnings


def _publish_time_warnings(publish_at: datetime | None, *, published: bool, now: datetime) -> list[BulletinWarning]:
    if publish_at is None or published or publish_at >= now - PAST_GRACE:
        return []
    shown = formats.date_format(timezone.localtime(publish_at), "DATETIME_FORMAT")
    return [
        BulletinWarning(
            "publish_time_past",
            _("The publish time %(time)s has already passed: the bulletin goes out as soon as it is approved.")
            % {"time": shown},
        )
    ]


def check_draft(data: BulletinData, *, unit, bulletin=None, now: datetime | None = None) -> SpeechCheck:
    """Check what the editor has typed (not saved yet) for `unit`, or for `bulletin` when editing one."""
    now = now or timezone.now()
    # Far beyond what can be saved (MAX_BODY): checked no further, so a pasted book cannot tie up the server.
    report, seconds, warnings = _speech(draft_speech_source(data)[:MAX_CHECKED_CHARS], unit)
    published = bulletin is not None and bulletin.published_at is not None
    warnings += _publish_time_warnings(data.publish_at, published=published, now=now)
    return SpeechCheck(report, seconds, warnings)


def bulletin_warnings(bulletin, *, now: datetime | None = None) -> list[BulletinWarning]:
    """The warnings for a saved bulletin's current revision."""
    now = now or timezone.now()
    revision = bulletin.current_revision
    warnings = []
    if revision is not None:
        warnings += _speech(revision.speech_source(), bulletin.owner_unit)[2]
    warnings += _publish_time_warnings(bulletin.publish_at, published=bulletin.published_at is not None, now=now)
    return warnings
