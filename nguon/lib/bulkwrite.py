"""Many rows written in few statements, for the report writer's group commits.

`update_rows`: many rows, each with its own values, updated in one statement: `UPDATE … FROM (VALUES …)`.

Django's `bulk_update` writes one `CASE WHEN pk = … THEN …` per row and field: for 10,000 devices its SQL grows to
megabytes and both databases spend seconds per statement on it (the report writer spent 1.5 ms a device there).
`UPDATE t SET c = v.c FROM (VALUES (…), (…)) AS v WHERE t.id = v.id` is one join, on PostgreSQL and on SQLite
(3.33 and later). On PostgreSQL each column goes as one array parameter (`unnest(%s::type[], …)`), so the statement's
text does not change with the number of rows.

`insert_objects`: model instances inserted as `bulk_create` would, without its per-object bookkeeping (signals are
not sent by either); about a third of its time for 10,000 small rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from django.db import connections, router
from django.db.models import NOT_PROVIDED

MAX_PARAMS = 30000  # per statement: below SQLite's 32,766 and PostgreSQL's 65,535


def _preparer(field, connection):
    """A fast value → database value function for the field (DateTimeField's own goes through to_python and
    time-zone checks on every value: most of a 10,000-row statement's time)."""
    if field.get_internal_type() == "DateTimeField":
        adapt = connection.ops.adapt_datetimefield_value
        return adapt
    return lambda value: field.get_db_prep_save(value, connection)


def _pg_array(field, connection) -> tuple[str, str, callable]:
    """PostgreSQL: (array placeholder, column expression suffix, value preparer) for passing a whole column as one
    array parameter. One parameter per column keeps the statement's text the same whatever the number of rows, so
    psycopg parses it once and PostgreSQL plans it once (a VALUES list of 10,000 rows is a new query every time)."""
    if field.get_internal_type() == "JSONField":
        encoder = field.encoder

        def to_text(value):
            return None if value is None else json.dumps(value, cls=encoder)

        return "%s::text[]", "::jsonb", to_text  # psycopg has no jsonb[] from Python lists of dicts: go by text
    return f"%s::{field.db_type(connection)}[]", "", lambda value: field.get_db_prep_save(value, connection)


def _pg_update(connection, model, columns, rows, fixed) -> int:
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    arrays = [_pg_array(f, connection) for f in columns]
    names = [f"c{i}" for i in range(len(columns))]
    sets = [
        f"{quote(f.column)} = v.{n}{suffix}"
        for f, n, (_a, suffix, _p) in zip(columns[1:], names[1:], arrays[1:], strict=True)
    ]
    sets += [f"{quote(f.column)} = %s" for f, _value in fixed]
    unnest = ", ".join(a for a, _suffix, _p in arrays)
    join = f"{table}.{quote(columns[0].column)} = v.{names[0]}"
    # Names from the model, values as parameters.
    sql = f"UPDATE {table} SET {', '.join(sets)} FROM unnest({unnest}) AS v({', '.join(names)}) WHERE {join}"  # noqa: S608
    params = [f.get_db_prep_save(value, connection) for f, value in fixed]
    for i, (_a, _suffix, prepare) in enumerate(arrays):
        params.append([prepare(row[i]) for row in rows])
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _pg_insert(connection, model, fields, objects, ignore_conflicts: bool) -> None:
    quote = connection.ops.quote_name
    arrays = [_pg_array(f, connection) for f in fields]
    names = [f"c{i}" for i in range(len(fields))]
    select = ", ".join(f"{n}{suffix}" for n, (_a, suffix, _p) in zip(names, arrays, strict=True))
    unnest = ", ".join(a for a, _suffix, _p in arrays)
    columns = ", ".join(quote(f.column) for f in fields)
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    source = f"unnest({unnest}) AS v({', '.join(names)})"
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) SELECT {select} FROM {source}{tail}"  # noqa: S608
    params = [
        [prepare(getattr(obj, f.attname)) for obj in objects]
        for f, (_a, _s, prepare) in zip(fields, arrays, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def update_rows(model, fields: Sequence[str], rows: Iterable[Sequence], *, constants: dict | None = None) -> int:
    """Update `model` rows: each of `rows` is (pk, value of fields[0], value of fields[1], …).

    `constants` (field → value) are set on every row named. Values go through the fields' own database preparation
    (dates, JSON), so the result is what `save()` would store. Returns the number of rows updated.
    """
    rows = list(rows)
    if not rows:
        return 0
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    meta = model._meta
    table = quote(meta.db_table)
    pk_field = meta.pk
    columns = [pk_field, *(meta.get_field(name) for name in fields)]
    fixed = [(meta.get_field(name), value) for name, value in (constants or {}).items()]
    postgres = connection.vendor == "postgresql"
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"expected {len(columns)} values per row, got {len(row)}")
    if postgres:
        return _pg_update(connection, model, columns, rows, fixed)

    def placeholder(field) -> str:
        # PostgreSQL types a VALUES column from its first row; a NULL there would make it text. Cast each one.
        return f"%s::{field.db_type(connection)}" if postgres else "%s"

    row_sql = "(" + ", ".join(placeholder(f) for f in columns) + ")"
    names = [f"column{i + 1}" for i in range(len(columns))]  # SQLite's own names for VALUES columns
    alias = "v(" + ", ".join(names) + ")" if postgres else "v"
    sets = [f"{quote(f.column)} = v.{name}" for f, name in zip(columns[1:], names[1:], strict=True)]
    sets += [f"{quote(f.column)} = %s" for f, _value in fixed]
    fixed_params = [f.get_db_prep_save(value, connection) for f, value in fixed]
    prepare = [_preparer(f, connection) for f in columns]
    per_statement = max(1, (MAX_PARAMS - len(fixed)) // len(columns))
    updated = 0
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            params = list(fixed_params)
            for row in chunk:
                params.extend(p(value) for p, value in zip(prepare, row, strict=True))
            values = ", ".join([row_sql] * len(chunk))
            join = f"{table}.{quote(pk_field.column)} = v.{names[0]}"
            # Names come from the model, values go as parameters.
            sql = f"UPDATE {table} SET {', '.join(sets)} FROM (VALUES {values}) AS {alias} WHERE {join}"  # noqa: S608
            # The fixed SET values come first in the statement, then the VALUES rows.
            cursor.execute(sql, params)
            updated += cursor.rowcount
    return updated


def insert_objects(model, objects: Sequence, *, ignore_conflicts: bool = False) -> None:
    """INSERT the unsaved instances (primary keys from the database, not set on them); `ignore_conflicts` skips
    rows that break a unique constraint, as `bulk_create(ignore_conflicts=True)` does."""
    if not objects:
        return
    meta = model._meta
    fields = [f for f in meta.concrete_fields if f is not meta.auto_field]
    if any(f.db_default is not NOT_PROVIDED or getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
           for f in fields):  # fmt: skip
        model.objects.bulk_create(objects, ignore_conflicts=ignore_conflicts)  # it knows those
        return
    connection = connections[router.db_for_write(model)]
    if connection.vendor == "postgresql":
        _pg_insert(connection, model, fields, objects, ignore_conflicts)
        return
    quote = connection.ops.quote_name
    prepare = [_preparer(f, connection) for f in fields]
    attnames = [f.attname for f in fields]
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    head = f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) VALUES "  # noqa: S608 (names from the model)
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    if ignore_conflicts and connection.vendor == "sqlite":
        head, tail = head.replace("INSERT INTO", "INSERT OR IGNORE INTO", 1), ""
    per_statement = max(1, MAX_PARAMS // len(fields))
    with connection.cursor() as cursor:
        for start in range(0, len(objects), per_statement):
            chunk = objects[start : start + per_statement]
            params = []
            for obj in chunk:
                for p, attname in zip(prepare, attnames, strict=True):
                    params.append(p(getattr(obj, attname)))
            cursor.execute(head + ", ".join([row_sql] * len(chunk)) + tail, params)
