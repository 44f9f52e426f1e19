"""The bulletin editor in chromium: the spoken text and the warnings appear as the editor types, under the
Content-Security-Policy (htmx attributes only, no inline script), and saving is not blocked."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from nguon.content.models import Bulletin
from nguon.content.tests.test_speech_checks import LONG_BODY
from nguon.core.tests.browser import ARTIFACTS, PageWatch, chromium, needs_chromium, signed_in_context  # noqa: F401

pytestmark = [pytest.mark.browser, needs_chromium]


def test_the_editor_sees_the_spoken_text_and_warnings_while_typing(live_server, cast, chromium, settings):  # noqa: F811
    settings.SPEECH_AUTO_RENDER = False
    context = signed_in_context(chromium, live_server, cast.commune_editor)
    page = context.new_page()
    watch = PageWatch().attach(page)
    page.goto(f"{live_server.url}/bulletins/new/")
    preview = page.locator("#speech-preview")
    preview.get_by_text("Văn bản loa sẽ đọc hiện ở đây.").wait_for(timeout=10_000)  # checked on load

    page.locator("#id_owner_unit").select_option(str(cast.commune.pk))
    page.locator("#id_title").fill("Họp tổ dân phố")
    page.locator("#id_body").fill("Mời bà con dự họp lúc 8g 30 sáng thứ 7 tại UBND phường.")
    preview.get_by_text("tám giờ ba mươi sáng thứ bảy tại ủy ban nhân dân phường", exact=False).wait_for(timeout=10_000)
    assert preview.locator("[data-code]").count() == 0

    page.locator("#id_body").fill(LONG_BODY)
    past = timezone.localtime(timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    page.locator("#id_publish_at").fill(past)
    preview.locator("[data-code=long_speech]").wait_for(timeout=10_000)
    preview.locator("[data-code=publish_time_past]").wait_for(timeout=10_000)
    assert "phút" in preview.locator("[data-code=long_speech]").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    preview.screenshot(path=str(ARTIFACTS / "bulletin-editor-warnings.png"))

    page.get_by_role("button", name="Lưu").click()
    page.wait_for_url(re.compile(r"/bulletins/\d+/$"))
    assert Bulletin.objects.filter(title="Họp tổ dân phố").exists()  # warned, not blocked
    assert page.locator(".messages .warning").count() == 2
    assert watch.server_errors == []
    assert watch.csp_violations(page) == []
    context.close()
