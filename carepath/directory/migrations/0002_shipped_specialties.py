"""Load the few NUCC specialties CarePath's guides need, so a fresh install validates them without the full file.
`carepath import_nucc` loads the full taxonomy later; it updates these rows in place."""

import csv
from pathlib import Path

from django.db import migrations

CSV_PATH = Path(__file__).resolve().parent.parent / "data" / "specialties.csv"


def load(apps, schema_editor):
    Taxonomy = apps.get_model("directory", "Taxonomy")
    with CSV_PATH.open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            Taxonomy.objects.update_or_create(
                code=row["Code"],
                defaults={
                    "grouping": row["Grouping"],
                    "classification": row["Classification"],
                    "specialization": row["Specialization"],
                    "display_name": row["Display Name"],
                },
            )


class Migration(migrations.Migration):
    dependencies = [("directory", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
