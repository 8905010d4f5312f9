
import carepath.conditions.blocks
import wagtail.fields
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('conditions', '0001_initial'),
    ]

    operations = [
        migrations.AlterField(
            model_name='conditionpage',
            name='body',
            field=wagtail.fields.StreamField([('section', 2), ('care_callout', 5), ('find_doctor', 7), ('image', 11), ('glossary_term', 13)], block_lookup={0: ('wagtail.blocks.CharBlock', (), {'max_length': 120}), 1: ('wagtail.blocks.RichTextBlock', (), {'features': ['bold', 'italic', 'ol', 'ul', 'link']}), 2: ('wagtail.blocks.StructBlock', [[('heading', 0), ('text', 1)]], {}), 3: ('wagtail.blocks.ChoiceBlock', [], {'choices': [('emergency', 'Emergency: call 911'), ('urgent', 'Urgent: get prompt medical care'), ('routine', 'Routine: make an appointment')]}), 4: ('wagtail.blocks.CharBlock', (), {'help_text': 'Defaults to a heading for the level', 'max_length': 120, 'required': False}), 5: ('wagtail.blocks.StructBlock', [[('level', 3), ('heading', 4), ('text', 1)]], {}), 6: ('wagtail.blocks.MultipleChoiceBlock', [], {'choices': carepath.conditions.blocks.specialty_choices, 'help_text': 'NUCC specialties to search for'}), 7: ('wagtail.blocks.StructBlock', [[('specialties', 6)]], {}), 8: ('wagtail.images.blocks.ImageChooserBlock', (), {}), 9: ('wagtail.blocks.CharBlock', (), {'help_text': 'What the image shows, for people who cannot see it (required)', 'max_length': 250}), 10: ('wagtail.blocks.CharBlock', (), {'max_length': 250, 'required': False}), 11: ('wagtail.blocks.StructBlock', [[('image', 8), ('alt_text', 9), ('caption', 10)]], {}), 12: ('wagtail.snippets.blocks.SnippetChooserBlock', ('conditions.GlossaryTerm',), {}), 13: ('wagtail.blocks.StructBlock', [[('term', 12)]], {})}),
        ),
    ]
