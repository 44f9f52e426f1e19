from django.db import migrations

from nguon.content.categories import DEFAULT_CATEGORIES


def forward(apps, schema_editor):
    Category = apps.get_model("content", "Category")
    for order, (slug, name, name_en) in enumerate(DEFAULT_CATEGORIES, start=1):
        Category.objects.get_or_create(slug=slug, defaults={"name": name, "name_en": name_en, "order": order})


class Migration(migrations.Migration):
    dependencies = [("content", "0002_search_index")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
