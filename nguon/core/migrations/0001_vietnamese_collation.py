"""The "vi" collation for ordering names on PostgreSQL (ICU); SQLite registers its own per connection."""

from django.db import migrations

CREATE = "CREATE COLLATION IF NOT EXISTS \"vi\" (provider = icu, locale = 'vi-VN')"
DROP = 'DROP COLLATION IF EXISTS "vi"'


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = []
    operations = [migrations.RunPython(create, drop)]
