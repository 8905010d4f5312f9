
import carepath.conditions.models
import django.db.models.deletion
import modelcluster.fields
import modelsearch.index
import wagtail.contrib.routable_page.models
import wagtail.fields
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('directory', '0001_initial'),
        ('editorial', '0001_initial'),
        ('wagtailcore', '0098_apitoken'),
        migrations.swappable_dependency(settings.WAGTAIL_PAGE_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ConditionIndexPage',
            fields=[
                ('page_ptr', models.OneToOneField(auto_created=True, on_delete=django.db.models.deletion.CASCADE, parent_link=True, primary_key=True, serialize=False, to=settings.WAGTAIL_PAGE_MODEL)),
                ('intro', models.TextField(blank=True)),
            ],
            options={
                'abstract': False,
            },
            bases=('wagtailcore.page',),
        ),
        migrations.CreateModel(
            name='SlideshowIndexPage',
            fields=[
                ('page_ptr', models.OneToOneField(auto_created=True, on_delete=django.db.models.deletion.CASCADE, parent_link=True, primary_key=True, serialize=False, to=settings.WAGTAIL_PAGE_MODEL)),
                ('intro', models.TextField(blank=True)),
            ],
            options={
                'abstract': False,
            },
            bases=('wagtailcore.page',),
        ),
        migrations.CreateModel(
            name='ConditionPage',
            fields=[
                ('page_ptr', models.OneToOneField(auto_created=True, on_delete=django.db.models.deletion.CASCADE, parent_link=True, primary_key=True, serialize=False, to=settings.WAGTAIL_PAGE_MODEL)),
                ('last_reviewed', models.DateField(blank=True, null=True)),
                ('next_review_due', models.DateField(blank=True, null=True)),
                ('also_called', models.TextField(blank=True, help_text='Other names, one per line')),
                ('summary', models.TextField(help_text='One or two plain sentences; also the meta description', max_length=300)),
                ('body', wagtail.fields.StreamField([('section', 2), ('care_callout', 5), ('find_doctor', 8), ('image', 12), ('glossary_term', 14)], block_lookup={0: ('wagtail.blocks.CharBlock', (), {'max_length': 120}), 1: ('wagtail.blocks.RichTextBlock', (), {'features': ['bold', 'italic', 'ol', 'ul', 'link']}), 2: ('wagtail.blocks.StructBlock', [[('heading', 0), ('text', 1)]], {}), 3: ('wagtail.blocks.ChoiceBlock', [], {'choices': [('emergency', 'Emergency: call 911'), ('urgent', 'Urgent: get prompt medical care'), ('routine', 'Routine: make an appointment')]}), 4: ('wagtail.blocks.CharBlock', (), {'help_text': 'Defaults to a heading for the level', 'max_length': 120, 'required': False}), 5: ('wagtail.blocks.StructBlock', [[('level', 3), ('heading', 4), ('text', 1)]], {}), 6: ('wagtail.snippets.blocks.SnippetChooserBlock', ('directory.Taxonomy',), {}), 7: ('wagtail.blocks.ListBlock', (6,), {'help_text': 'NUCC specialties to search for', 'min_num': 1}), 8: ('wagtail.blocks.StructBlock', [[('specialties', 7)]], {}), 9: ('wagtail.images.blocks.ImageChooserBlock', (), {}), 10: ('wagtail.blocks.CharBlock', (), {'help_text': 'What the image shows, for people who cannot see it (required)', 'max_length': 250}), 11: ('wagtail.blocks.CharBlock', (), {'max_length': 250, 'required': False}), 12: ('wagtail.blocks.StructBlock', [[('image', 9), ('alt_text', 10), ('caption', 11)]], {}), 13: ('wagtail.snippets.blocks.SnippetChooserBlock', ('conditions.GlossaryTerm',), {}), 14: ('wagtail.blocks.StructBlock', [[('term', 13)]], {})})),
                ('icd10_codes', models.CharField(blank=True, help_text='Separated by commas, e.g. M62.50, M62.59', max_length=500, validators=[carepath.conditions.models.validate_icd10cm_codes], verbose_name='ICD-10-CM codes')),
                ('hpo_ids', models.CharField(blank=True, help_text='Human Phenotype Ontology ids separated by commas, e.g. HP:0003202', max_length=500, validators=[carepath.conditions.models.validate_hpo_ids], verbose_name='HPO term ids')),
                ('author', models.CharField(default='CarePath editorial team', max_length=200)),
                ('is_demo', models.BooleanField(default=False, help_text='Demo content shipped with CarePath, not for readers')),
                ('reviewers', modelcluster.fields.ParentalManyToManyField(blank=True, related_name='reviewed_pages', to='editorial.medicalreviewer')),
                ('specialties', modelcluster.fields.ParentalManyToManyField(blank=True, related_name='condition_pages', to='directory.taxonomy')),
                ('up_next', models.ForeignKey(blank=True, help_text='The page suggested after this one; defaults to the next guide A-Z', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.WAGTAIL_PAGE_MODEL)),
            ],
            options={
                'abstract': False,
            },
            bases=(wagtail.contrib.routable_page.models.RoutablePageMixin, 'wagtailcore.page', models.Model),
        ),
        migrations.CreateModel(
            name='ConditionReference',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sort_order', models.IntegerField(blank=True, editable=False, null=True)),
                ('title', models.CharField(max_length=300)),
                ('publisher', models.CharField(max_length=200)),
                ('url', models.URLField(max_length=500, verbose_name='URL')),
                ('accessed', models.DateField(verbose_name='date accessed')),
                ('page', modelcluster.fields.ParentalKey(on_delete=django.db.models.deletion.CASCADE, related_name='references', to='conditions.conditionpage')),
            ],
            options={
                'ordering': ['sort_order'],
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='GlossaryTerm',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('term', models.CharField(max_length=100, unique=True)),
                ('definition', models.CharField(help_text='One plain-language sentence, grade 8 or lower', max_length=200)),
                ('guide', models.ForeignKey(blank=True, help_text="The term's own guide, when there is one", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.WAGTAIL_PAGE_MODEL)),
            ],
            options={
                'ordering': ['term'],
            },
            bases=(modelsearch.index.Indexed, models.Model),
        ),
        migrations.CreateModel(
            name='RelatedLink',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sort_order', models.IntegerField(blank=True, editable=False, null=True)),
                ('page', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.WAGTAIL_PAGE_MODEL)),
                ('source', modelcluster.fields.ParentalKey(on_delete=django.db.models.deletion.CASCADE, related_name='related_links', to='conditions.conditionpage')),
            ],
            options={
                'ordering': ['sort_order'],
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='SlideshowPage',
            fields=[
                ('page_ptr', models.OneToOneField(auto_created=True, on_delete=django.db.models.deletion.CASCADE, parent_link=True, primary_key=True, serialize=False, to=settings.WAGTAIL_PAGE_MODEL)),
                ('last_reviewed', models.DateField(blank=True, null=True)),
                ('next_review_due', models.DateField(blank=True, null=True)),
                ('summary', models.TextField(max_length=300)),
                ('slides', wagtail.fields.StreamField([('slide', 4)], block_lookup={0: ('wagtail.blocks.CharBlock', (), {'max_length': 160}), 1: ('wagtail.images.blocks.ImageChooserBlock', (), {'required': False}), 2: ('wagtail.blocks.CharBlock', (), {'help_text': 'Required when there is an image', 'max_length': 250, 'required': False}), 3: ('wagtail.blocks.RichTextBlock', (), {'features': ['bold', 'italic', 'ol', 'ul', 'link']}), 4: ('wagtail.blocks.StructBlock', [[('heading', 0), ('image', 1), ('alt_text', 2), ('text', 3)]], {})})),
                ('author', models.CharField(default='CarePath editorial team', max_length=200)),
                ('is_demo', models.BooleanField(default=False)),
                ('conditions', modelcluster.fields.ParentalManyToManyField(blank=True, related_name='slideshows', to='conditions.conditionpage')),
                ('reviewers', modelcluster.fields.ParentalManyToManyField(blank=True, related_name='reviewed_slideshows', to='editorial.medicalreviewer')),
            ],
            options={
                'abstract': False,
            },
            bases=(wagtail.contrib.routable_page.models.RoutablePageMixin, 'wagtailcore.page', models.Model),
        ),
        migrations.CreateModel(
            name='SlideshowReference',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sort_order', models.IntegerField(blank=True, editable=False, null=True)),
                ('title', models.CharField(max_length=300)),
                ('publisher', models.CharField(max_length=200)),
                ('url', models.URLField(max_length=500, verbose_name='URL')),
                ('accessed', models.DateField(verbose_name='date accessed')),
                ('page', modelcluster.fields.ParentalKey(on_delete=django.db.models.deletion.CASCADE, related_name='references', to='conditions.slideshowpage')),
            ],
            options={
                'ordering': ['sort_order'],
                'abstract': False,
            },
        ),
    ]
