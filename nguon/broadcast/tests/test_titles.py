"""What devices report is shown in words: slot names, Vietnamese dates, bulletin and media titles, never
"3@2026-12-02/41" or a hash; and only for things of the device's own units."""

from __future__ import annotations

import re
from datetime import time

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from nguon.accounts.roles import Role
from nguon.broadcast import actions
from nguon.broadcast.actions import SlotData
from nguon.broadcast.tests.fleet_helpers import Sequence, heartbeat, make_device, play, report, technician
from nguon.broadcast.tests.schedule_helpers import local, published
from nguon.broadcast.titles import Titles
from nguon.conftest import make_user
from nguon.content.media import ingest
from nguon.content.tests.test_image_bombs import blank_png

pytestmark = pytest.mark.django_db

NOW = local(2026, 12, 2, 6, 10)
RAW = re.compile(r"\d+@\d{4}-\d{2}-\d{2}|[0-9a-f]{16,}")


@pytest.fixture(autouse=True)
def frozen(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media-root")
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def reported(cast):
    """A Biên Hòa loudspeaker that played the morning slot's bulletin and a library image, and plays the bulletin
    now; one record names another commune's bulletin."""
    speaker = make_device(cast.commune, "BH-001")
    bulletin = published(cast, targets=[cast.commune], title="Lịch tiêm chủng tháng 12")
    their_editor = make_user("editor.tranbien", cast.other_commune, Role.EDITOR)
    theirs = published(cast, unit=cast.other_commune, title="Tin nội bộ Trấn Biên", author=their_editor)
    picture = ingest(SimpleUploadedFile("a.png", blank_png(32, 32)), unit=cast.commune, acting_user=None,
                     title="Ảnh hội nghị")  # fmt: skip
    slot = actions.do_save_slot(None, unit=cast.commune, data=SlotData(
        name="Chương trình sáng", start_time=time(6), end_time=time(6, 30), start_date=timezone.localdate(),
    ), acting_user=None)  # fmt: skip
    occurrence = f"{slot.pk}@2026-12-02"
    seq = Sequence()
    report(speaker, [
        play(seq(), occurrence, NOW, item=str(bulletin.pk)),
        play(seq(), occurrence, NOW, item=picture.sha256),
        play(seq(), occurrence, NOW, item="stream:2"),
        play(seq(), occurrence, NOW, item=str(theirs.pk)),
        heartbeat(seq(), NOW, current_item=f"{occurrence}/{bulletin.pk}"),
    ])  # fmt: skip
    return speaker, bulletin, theirs, picture, slot


def test_the_device_page_reads_as_words(cast, reported, client_for):
    speaker, bulletin, theirs, picture, slot = reported
    html = client_for(technician(cast.commune)).get(f"/devices/{speaker.pk}/").content.decode()
    assert "Lịch tiêm chủng tháng 12 · Chương trình sáng, 02/12/2026" in html  # now playing, and in the heartbeat
    assert "Ảnh hội nghị" in html
    assert "Mục 3" in html  # a stream relay, by its place in the slot
    assert RAW.findall(html.split("<main", 1)[1]) == []
    # Another commune's bulletin is not named on this commune's device.
    assert "Tin nội bộ Trấn Biên" not in html and f"số {theirs.pk}" in html


def test_the_fleet_list_reads_as_words(cast, reported, client_for):
    html = client_for(technician(cast.commune)).get("/devices/").content.decode()
    assert "Lịch tiêm chủng tháng 12 · Chương trình sáng, 02/12/2026" in html
    assert RAW.findall(html.split("<main", 1)[1]) == []


def test_titles_take_one_query_per_kind_whatever_the_rows(cast, reported, django_assert_max_num_queries):
    speaker, bulletin, _theirs, picture, slot = reported
    pairs = [(f"{slot.pk}@2026-12-0{d}", item) for d in range(1, 8) for item in (str(bulletin.pk), picture.sha256)]
    pairs += [("push@1", ""), ("live@2", ""), ("alert@3", "")]
    with django_assert_max_num_queries(5):
        titles = Titles(pairs * 20, units=[speaker.unit])
    assert titles.occurrence(f"{slot.pk}@2026-12-07") == "Chương trình sáng, 07/12/2026"
    assert titles.item(picture.sha256[:16]) == "Ảnh hội nghị"  # e-boards send the first 16 characters
    assert titles.now_playing("alert/3").startswith("Cảnh báo")
    assert titles.occurrence("999@2026-12-02").endswith("02/12/2026")
    assert titles.now_playing("Bản tin sáng") == "Bản tin sáng"  # free text from a receiver stays
