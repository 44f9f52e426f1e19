"""Full-text index on the folded text: FTS5 on SQLite (kept in step by triggers), GIN + unaccent on PostgreSQL."""

from django.db import migrations

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE content_bulletin_fts USING fts5(text, tokenize = 'unicode61 remove_diacritics 2')",
    """CREATE TRIGGER content_bulletin_fts_ai AFTER INSERT ON content_bulletin BEGIN
        INSERT INTO content_bulletin_fts(rowid, text) VALUES (new.id, new.search_folded);
    END""",
    """CREATE TRIGGER content_bulletin_fts_au AFTER UPDATE OF search_folded ON content_bulletin BEGIN
        DELETE FROM content_bulletin_fts WHERE rowid = old.id;
        INSERT INTO content_bulletin_fts(rowid, text) VALUES (new.id, new.search_folded);
    END""",
    """CREATE TRIGGER content_bulletin_fts_ad AFTER DELETE ON content_bulletin BEGIN
        DELETE FROM content_bulletin_fts WHERE rowid = old.id;
    END""",
    "INSERT INTO content_bulletin_fts(rowid, text) SELECT id, search_folded FROM content_bulletin",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS content_bulletin_fts_ai",
    "DROP TRIGGER IF EXISTS content_bulletin_fts_au",
    "DROP TRIGGER IF EXISTS content_bulletin_fts_ad",
    "DROP TABLE IF EXISTS content_bulletin_fts",
]
PG_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE INDEX content_bulletin_search_gin ON content_bulletin USING gin (to_tsvector('simple', search_folded))",
]
PG_BACKWARD = ["DROP INDEX IF EXISTS content_bulletin_search_gin"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("content", "0001_initial")]
    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": PG_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": PG_BACKWARD}),
        )
    ]
