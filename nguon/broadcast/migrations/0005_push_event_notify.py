"""On PostgreSQL, every statement that inserts outbox rows sends NOTIFY nguon_outbox (delivered at commit).

A statement-level trigger rather than code in Django: every insert path (create, bulk_create, raw SQL, another
program) wakes the gateways, and a transaction that rolls back wakes nobody. Other databases get nothing here: the
gateway polls SQLite briefly, and Redis is told from Python (nguon.broadcast.gateway.wake).
"""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION broadcast_pushevent_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('nguon_outbox', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER broadcast_pushevent_notify AFTER INSERT ON broadcast_pushevent
    FOR EACH STATEMENT EXECUTE FUNCTION broadcast_pushevent_notify();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS broadcast_pushevent_notify ON broadcast_pushevent;
DROP FUNCTION IF EXISTS broadcast_pushevent_notify();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("broadcast", "0004_vietnamese_names")]
    operations = [migrations.RunPython(forward, backward)]
