"""StreamField blocks of a condition guide: the anatomy of the page in product.md, one block per element."""

from django.core.exceptions import ValidationError
from wagtail import blocks
from wagtail.images.blocks import ImageChooserBlock
from wagtail.snippets.blocks import SnippetChooserBlock

RICH_TEXT_FEATURES = ["bold", "italic", "ol", "ul", "link"]


class SectionBlock(blocks.StructBlock):
    heading = blocks.CharBlock(max_length=120)
    text = blocks.RichTextBlock(features=RICH_TEXT_FEATURES)

    class Meta:
        icon = "doc-full"
        template = "conditions/blocks/section.html"


class CareCalloutBlock(blocks.StructBlock):
    """'Call 911 if...' / 'See a doctor soon if...': how urgently to seek care."""

    LEVELS = [
        ("emergency", "Emergency: call 911"),
        ("urgent", "Urgent: get prompt medical care"),
        ("routine", "Routine: make an appointment"),
    ]
    level = blocks.ChoiceBlock(choices=LEVELS)
    heading = blocks.CharBlock(max_length=120, required=False, help_text="Defaults to a heading for the level")
    text = blocks.RichTextBlock(features=RICH_TEXT_FEATURES)

    class Meta:
        icon = "warning"
        template = "conditions/blocks/care_callout.html"


def specialty_choices():
    """Every NUCC code in the taxonomy table: the block stores codes, and only known codes validate. Read from the
    per-process copy of the table (carepath.directory.search.taxonomies), not once per stored value of every block."""
    from carepath.directory.search import taxonomies

    rows = sorted(taxonomies().by_code.values(), key=lambda t: (t.classification, t.specialization))
    return [(t.code, f"{t.label} ({t.code})") for t in rows]


class FindDoctorBlock(blocks.StructBlock):
    specialties = blocks.MultipleChoiceBlock(choices=specialty_choices, help_text="NUCC specialties to search for")

    class Meta:
        icon = "user"
        template = "conditions/blocks/find_doctor.html"

    def get_context(self, value, parent_context=None):
        from carepath.directory.search import taxonomy_by_code

        context = super().get_context(value, parent_context)
        by_code = taxonomy_by_code()
        context["specialties"] = [by_code[c] for c in value["specialties"] if c in by_code]
        return context


class ImageBlock(blocks.StructBlock):
    image = ImageChooserBlock()
    alt_text = blocks.CharBlock(
        max_length=250, help_text="What the image shows, for people who cannot see it (required)"
    )
    caption = blocks.CharBlock(max_length=250, required=False)

    class Meta:
        icon = "image"
        template = "conditions/blocks/image.html"

    def clean(self, value):
        value = super().clean(value)
        if not (value.get("alt_text") or "").strip():
            raise blocks.StructBlockValidationError(
                block_errors={"alt_text": ValidationError("Every image needs alt text.")}
            )
        return value


class GlossaryTermChooserBlock(SnippetChooserBlock):
    """The chosen terms, with their guides (the key-term box links the guide), from the glossary kept per process
    (conditions.models.glossary): no query once it is built. Each value is a fresh instance, as Wagtail's
    ChooserBlock gives. Stored and migrated exactly as the SnippetChooserBlock it is."""

    def bulk_to_python(self, values):
        from carepath.conditions.models import glossary

        fresh = glossary().term
        return [fresh(pk) for pk in values]

    def deconstruct(self):
        _, args, kwargs = super().deconstruct()
        return "wagtail.snippets.blocks.SnippetChooserBlock", args, kwargs


class GlossaryTermBlock(blocks.StructBlock):
    term = GlossaryTermChooserBlock("conditions.GlossaryTerm")

    class Meta:
        icon = "help"
        template = "conditions/blocks/glossary_term.html"

    def get_context(self, value, parent_context=None):
        """guide_url: the term's guide, when it is live and not the page itself (from the glossary's copy)."""
        from carepath.conditions.models import GlossaryEntry, glossary

        context = super().get_context(value, parent_context)
        term, page = value["term"], context.get("page")
        entry = term and (glossary().by_pk.get(term.pk) or GlossaryEntry.of(term))
        shown = entry and entry.guide_id and entry.guide_live and entry.guide_id != getattr(page, "pk", None)
        context["guide_url"] = entry.guide_url if shown else None
        return context


class ConditionBodyBlock(blocks.StreamBlock):
    section = SectionBlock()
    care_callout = CareCalloutBlock()
    find_doctor = FindDoctorBlock()
    image = ImageBlock()
    glossary_term = GlossaryTermBlock()


class SlideBlock(blocks.StructBlock):
    heading = blocks.CharBlock(max_length=160)
    image = ImageChooserBlock(required=False)
    alt_text = blocks.CharBlock(max_length=250, required=False, help_text="Required when there is an image")
    text = blocks.RichTextBlock(features=RICH_TEXT_FEATURES)

    class Meta:
        icon = "image"

    def clean(self, value):
        value = super().clean(value)
        if value.get("image") and not (value.get("alt_text") or "").strip():
            raise blocks.StructBlockValidationError(
                block_errors={"alt_text": ValidationError("A slide with an image needs alt text.")}
            )
        return value
