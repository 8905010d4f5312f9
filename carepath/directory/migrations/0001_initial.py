
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
    ]

    operations = [
        migrations.CreateModel(
            name='Taxonomy',
            fields=[
                ('code', models.CharField(max_length=10, primary_key=True, serialize=False)),
                ('grouping', models.CharField(max_length=200)),
                ('classification', models.CharField(max_length=200)),
                ('specialization', models.CharField(blank=True, max_length=200)),
                ('display_name', models.CharField(blank=True, max_length=300)),
            ],
            options={
                'verbose_name_plural': 'taxonomy codes',
                'ordering': ['classification', 'specialization'],
            },
        ),
    ]
