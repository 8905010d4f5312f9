
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('directory', '0003_provider_directory'),
    ]

    operations = [
        migrations.CreateModel(
            name='ProviderSearchEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('latitude', models.FloatField()),
                ('longitude', models.FloatField()),
                ('x', models.FloatField()),
                ('y', models.FloatField()),
                ('z', models.FloatField()),
                ('rating_score', models.FloatField()),
                ('is_primary', models.BooleanField()),
                ('provider', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='directory.provider')),
                ('taxonomy', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='directory.taxonomy')),
            ],
            options={
                'indexes': [models.Index(fields=['taxonomy', 'latitude', 'longitude', 'rating_score', 'provider', 'x', 'y', 'z', 'is_primary'], name='search_entry_geo'), models.Index(fields=['latitude', 'longitude', 'rating_score', 'provider', 'x', 'y', 'z', 'is_primary'], name='search_entry_place'), models.Index(fields=['provider'], name='search_entry_provider')],
            },
        ),
    ]
