from django.db import migrations

from nguon.units.sources import DEFAULT_UNIT_TYPES


def forward(apps, schema_editor):
    UnitType = apps.get_model("units", "UnitType")
    for slug, name, name_en, level in DEFAULT_UNIT_TYPES:
        UnitType.objects.get_or_create(slug=slug, defaults={"name": name, "name_en": name_en, "level": level})


class Migration(migrations.Migration):
    dependencies = [("units", "0001_initial")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
