"""Vietnamese order of names in SQL: a collation named "vi" on both databases, and `vi("name")` for order_by.

PostgreSQL uses ICU's `vi-VN` collation (created by core's migration 0001_vietnamese_collation); SQLite gets a
collation of the same name backed by nguon.lib.collation on every new connection. Python lists sort with
`sorted(..., key=vi_key)` from nguon.lib.collation: all three agree.
"""

from __future__ import annotations

from django.db.backends.signals import connection_created
from django.db.models import F
from django.db.models.expressions import OrderBy
from django.db.models.functions import Collate

from nguon.lib.collation import vi_compare

VI_COLLATION = "vi"


def vi(field: str, *, descending: bool = False) -> OrderBy:
    """An order_by() term (also valid in Meta.ordering): `field` in Vietnamese alphabetical order."""
    return OrderBy(Collate(F(field), VI_COLLATION), descending=descending)


def install_sqlite_collation(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_collation(VI_COLLATION, vi_compare)


connection_created.connect(install_sqlite_collation, dispatch_uid="nguon.core.collation.sqlite")
