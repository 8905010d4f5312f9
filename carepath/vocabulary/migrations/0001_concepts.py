import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.WAGTAIL_PAGE_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='VocabularyVersion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('token', models.UUIDField(default=uuid.uuid4)),
            ],
        ),
        migrations.CreateModel(
            name='Concept',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('page_type', models.CharField(choices=[('guide', 'guide'), ('slideshow', 'slideshow')], max_length=20)),
                ('title', models.CharField(max_length=255)),
                ('url', models.CharField(max_length=500)),
                ('terms', models.JSONField(default=list)),
                ('codes', models.JSONField(default=list)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('page', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='vocabulary_concept', to=settings.WAGTAIL_PAGE_MODEL)),
            ],
            options={
                'ordering': ['page_id'],
            },
        ),
    ]
