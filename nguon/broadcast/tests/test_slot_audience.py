"""A unit's slot reaches, and conflicts with, only devices inside the unit's subtree, even when it aims at a
province-wide group; the conflict check names nothing outside the units that reach those devices."""

from __future__ import annotations

import json
from datetime import time

import pytest
import time_machine
from django.utils import timezone

from nguon.broadcast import actions
from nguon.broadcast.actions import GroupData, SlotData
from nguon.broadcast.manifest import compile_for
from nguon.broadcast.models import Slot
from nguon.broadcast.receivers import audience
from nguon.broadcast.tests.schedule_helpers import device, local, operator, slot_form, stamp_of
from nguon.core.errors import Conflict

pytestmark = pytest.mark.django_db

NOW = local(2026, 11, 26, 11, 0)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def riverside(cast):
    """A province group along the river with one loudspeaker in each commune, and the other commune's own slot."""
    bien_hoa, tran_bien = device(cast.commune, "BH-001"), device(cast.other_commune, "TB-001")
    group = actions.do_save_group(None, unit=cast.province, data=GroupData(name="Ven sông Đồng Nai",
                                  devices=[bien_hoa, tran_bien]), acting_user=None)  # fmt: skip
    theirs = actions.do_save_slot(None, unit=cast.other_commune, data=SlotData(
        name="Tin riêng Trấn Biên", start_time=time(5, 30), end_time=time(6), start_date=timezone.localdate(),
    ), acting_user=None)  # fmt: skip
    return group, bien_hoa, tran_bien, theirs


def test_a_commune_slot_on_a_province_group_reaches_only_its_own_devices(cast, riverside):
    group, bien_hoa, tran_bien, theirs = riverside
    data = SlotData(name="Ven sông sáng", start_time=time(5, 30), end_time=time(6), start_date=timezone.localdate(),
                    group=group)  # fmt: skip
    mine = actions.do_save_slot(None, unit=cast.commune, data=data, acting_user=operator(cast.commune))
    assert audience(mine) == {bien_hoa.pk}
    assert audience(theirs) == {tran_bien.pk}
    slots_of = {
        d.code: {entry["slot"] for entry in json.loads(bytes(compile_for(d)[0].body))["slots"]}
        for d in (bien_hoa, tran_bien)
    }
    assert slots_of == {"BH-001": {mine.pk}, "TB-001": {theirs.pk}}


def test_the_conflict_check_shows_nothing_of_another_commune(cast, riverside, client_for):
    group, _bien_hoa, _tran_bien, _theirs = riverside
    client = client_for(operator(cast.commune))
    stamp = stamp_of(client.get("/schedules/26068/new/"))
    fields = {"name": "Ven sông sáng", "group": group.pk}
    check = client.post("/schedules/26068/check/", slot_form(stamp, **fields))
    page = check.content.decode()
    assert check.status_code == 200
    assert "Tin riêng Trấn Biên" not in page and "Trấn Biên" not in page
    assert "1 " in page  # reaches its one device
    # …and saving is not blocked by the other commune's programme.
    response = client.post("/schedules/26068/new/", slot_form(stamp, **fields))
    assert response.status_code == 302
    assert Slot.objects.filter(unit=cast.commune).count() == 1


def test_the_other_commune_is_not_blocked_either(cast, riverside):
    """The reverse: a commune slot on the shared group exists first; the other commune still schedules freely."""
    group, _bien_hoa, tran_bien, theirs = riverside
    data = SlotData(name="Ven sông", start_time=time(5), end_time=time(7), start_date=timezone.localdate(), group=group)
    actions.do_save_slot(None, unit=cast.commune, data=data, acting_user=None)
    again = SlotData(name="Tin riêng Trấn Biên 2", start_time=time(6, 0), end_time=time(6, 30),
                     start_date=timezone.localdate())  # fmt: skip
    saved = actions.do_save_slot(None, unit=cast.other_commune, data=again, acting_user=operator(cast.other_commune))
    assert audience(saved) == {tran_bien.pk}
    assert actions.conflicts_for(theirs) == []


def test_real_conflicts_inside_the_subtree_are_still_found(cast, riverside, client_for):
    """A province slot does play on the commune's devices: it still clashes there, named but not linked when the
    commune operator may not open it."""
    group, _bien_hoa, _tran_bien, _theirs = riverside
    province_slot = actions.do_save_slot(None, unit=cast.province, data=SlotData(
        name="Thời sự tỉnh", start_time=time(19), end_time=time(19, 30), start_date=timezone.localdate(),
        group=group,
    ), acting_user=None, allow_overlap=True)  # fmt: skip
    data = SlotData(name="Tối", start_time=time(19, 15), end_time=time(19, 45), start_date=timezone.localdate())
    with pytest.raises(Conflict) as caught:
        actions.do_save_slot(None, unit=cast.commune, data=data, acting_user=None)
    assert "Thời sự tỉnh" in caught.value.message and "Trấn Biên" not in caught.value.message
    client = client_for(operator(cast.commune))
    stamp = stamp_of(client.get("/schedules/26068/new/"))
    page = client.post("/schedules/26068/check/", slot_form(stamp, start_time="19:15", end_time="19:45"))
    html = page.content.decode()
    assert "Thời sự tỉnh" in html
    assert f"/schedules/slot/{province_slot.pk}/" not in html  # the commune cannot open the province's slot
