"""Names come out of the database in Vietnamese order, on SQLite and on PostgreSQL (ICU), as in Python."""

import random

from nguon.broadcast.models import DeviceGroup
from nguon.core.collation import vi
from nguon.lib.collation import vi_key
from nguon.lib.tests.test_collation import EXPECTED


def test_sql_orders_names_as_vietnamese(cast):
    unit = cast.province_editor.active_grants()[0].unit
    shuffled = EXPECTED[:]
    random.Random(7).shuffle(shuffled)
    DeviceGroup.objects.bulk_create([DeviceGroup(unit=unit, name=name) for name in shuffled])

    by_sql = list(DeviceGroup.objects.order_by(vi("name")).values_list("name", flat=True))
    assert by_sql == EXPECTED == sorted(shuffled, key=vi_key)
    # The model's default order (Meta.ordering) uses the same collation.
    assert list(DeviceGroup.objects.values_list("name", flat=True)) == EXPECTED
