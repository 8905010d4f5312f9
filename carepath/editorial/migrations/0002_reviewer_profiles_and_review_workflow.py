import carepath.editorial.models
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.utils.text import slugify


def fill_slugs(apps, schema_editor):
    """Reviewers from before profiles had slugs get one from their name, unique."""
    MedicalReviewer = apps.get_model("editorial", "MedicalReviewer")
    taken = set()
    for reviewer in MedicalReviewer.objects.order_by("pk"):
        base = slugify(reviewer.name) or "reviewer"
        slug, n = base, 1
        while slug in taken:
            n += 1
            slug = f"{base}-{n}"
        taken.add(slug)
        reviewer.slug = slug
        reviewer.save(update_fields=["slug"])


class Migration(migrations.Migration):

    dependencies = [
        ('editorial', '0001_initial'),
        ('wagtailcore', '0098_apitoken'),
        ('wagtailimages', '0027_image_description'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        migrations.swappable_dependency(settings.WAGTAIL_PAGE_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='MedicalReviewTask',
            fields=[
                ('task_ptr', models.OneToOneField(auto_created=True, on_delete=django.db.models.deletion.CASCADE, parent_link=True, primary_key=True, serialize=False, to='wagtailcore.task')),
            ],
            options={
                'verbose_name': 'Medical review task',
                'verbose_name_plural': 'Medical review tasks',
            },
            bases=('wagtailcore.task',),
        ),
        migrations.AddField(
            model_name='medicalreviewer',
            name='bio',
            field=models.TextField(blank=True, help_text='Two or three plain sentences', max_length=600),
        ),
        migrations.AddField(
            model_name='medicalreviewer',
            name='photo',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='wagtailimages.image'),
        ),
        migrations.AddField(
            model_name='medicalreviewer',
            name='slug',
            field=models.SlugField(blank=True, db_index=False, help_text='Their page: /reviewers/<slug>/', max_length=200),
        ),
        migrations.RunPython(fill_slugs, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='medicalreviewer',
            name='slug',
            field=models.SlugField(blank=True, help_text='Their page: /reviewers/<slug>/', max_length=200, unique=True),
        ),
        migrations.AddField(
            model_name='medicalreviewer',
            name='user',
            field=models.OneToOneField(help_text='The CMS account this clinician approves reviews with', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='medical_reviewer', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='medicalreviewer',
            name='credentials',
            field=models.CharField(error_messages={'blank': 'A medical reviewer needs credentials (MD, DO, NP, PA, RN, PharmD, PT, ...).'}, help_text='For example: MD, FACS or PharmD', max_length=100, validators=[carepath.editorial.models.validate_credentials]),
        ),
        migrations.CreateModel(
            name='MedicalReview',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('approved_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('comment', models.TextField(blank=True)),
                ('typo_fix', models.BooleanField(default=False)),
                ('reviewed_on', models.DateField()),
                ('next_review_due', models.DateField()),
                ('basis', models.ForeignKey(blank=True, help_text='For a typo fix: the full review whose date the page keeps', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='typo_fixes', to='editorial.medicalreview')),
                ('page', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='medical_reviews', to=settings.WAGTAIL_PAGE_MODEL)),
                ('reviewer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='approvals', to='editorial.medicalreviewer')),
                ('revision', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='medical_reviews', to='wagtailcore.revision')),
                ('task_state', models.OneToOneField(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='medical_review', to='wagtailcore.taskstate')),
            ],
            options={
                'ordering': ['-approved_at', '-pk'],
                'get_latest_by': 'approved_at',
            },
        ),
    ]
