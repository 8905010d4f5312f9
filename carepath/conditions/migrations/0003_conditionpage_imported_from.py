

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('conditions', '0002_find_doctor_codes'),
        ('directory', '0004_provider_search_entry'),
        ('editorial', '0001_initial'),
        migrations.swappable_dependency(settings.WAGTAIL_PAGE_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='conditionpage',
            name='import_digest',
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name='conditionpage',
            name='import_key',
            field=models.CharField(blank=True, editable=False, help_text="The source's document key", max_length=200),
        ),
        migrations.AddField(
            model_name='conditionpage',
            name='imported_from',
            field=models.CharField(blank=True, choices=[('medquad', 'MedQuAD (NIH question-answer collection, CC BY 4.0)')], help_text="Set on guides loaded from another publisher's content; empty for guides written here", max_length=20),
        ),
        migrations.AddConstraint(
            model_name='conditionpage',
            constraint=models.UniqueConstraint(condition=models.Q(('import_key', ''), _negated=True), fields=('imported_from', 'import_key'), name='conditionpage_one_page_per_import_key'),
        ),
    ]
