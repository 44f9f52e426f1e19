"""Full-text search over bulletins, with or without diacritics, on SQLite (FTS5) and PostgreSQL.

Both databases index `Bulletin.search_folded`, the text already folded by `nguon.lib.folding.fold` ("đầu tư" is
stored as "dau tu"), so a query folded the same way matches whether or not the user typed the accents.
"""

from __future__ import annotations

import re

from django.db import connection
from django.db.models.expressions import RawSQL

from nguon.lib.folding import fold

_TOKEN = re.compile(r"[0-9a-z]+")


def query_tokens(text: str) -> list[str]:
    return _TOKEN.findall(fold(text))[:20]


def search_bulletins(queryset, text: str):
    tokens = query_tokens(text)
    if not tokens:
        return queryset
    if connection.vendor == "sqlite":
        # Each token quoted (no FTS syntax from users); the last one as a prefix, for search-as-you-type.
        match = " ".join(f'"{t}"' for t in tokens[:-1]) + f' "{tokens[-1]}"*'
        ids = RawSQL("SELECT rowid FROM content_bulletin_fts WHERE content_bulletin_fts MATCH %s", (match.strip(),))
        return queryset.filter(pk__in=ids)
    if connection.vendor == "postgresql":
        tsquery = " & ".join(tokens[:-1] + [f"{tokens[-1]}:*"])
        ids = RawSQL(
            "SELECT id FROM content_bulletin WHERE to_tsvector('simple', search_folded) "
            "@@ to_tsquery('simple', unaccent(%s))",
            (tsquery,),
        )
        return queryset.filter(pk__in=ids)
    for token in tokens:  # other databases: substring match on the folded column
        queryset = queryset.filter(search_folded__contains=token)
    return queryset
