"""StreamField blocks of a condition guide: the anatomy of the page in product.md, one block per element."""

import pickle
from typing import NamedTuple

from django.core.exceptions import ValidationError
from wagtail import blocks
from wagtail.images.blocks import ImageChooserBlock
from wagtail.snippets.blocks import SnippetChooserBlock

from carepath.core.copies import shared_entries, shared_entry

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


class SpecialtiesBlock(blocks.MultipleChoiceBlock):
    """NUCC codes. A stored code is read as it is: Wagtail's ChoiceBlock looks every stored value up in the whole
    choice list (here every taxonomy code, built and labelled afresh each time) only to turn it back into the same
    string. Stored and migrated exactly as the MultipleChoiceBlock it is."""

    def normalize_choice(self, value):
        return value if value is None or isinstance(value, str) else super().normalize_choice(value)

    def deconstruct(self):
        _, args, kwargs = super().deconstruct()
        return "wagtail.blocks.MultipleChoiceBlock", args, kwargs


class FindDoctorBlock(blocks.StructBlock):
    specialties = SpecialtiesBlock(choices=specialty_choices, help_text="NUCC specialties to search for")

    class Meta:
        icon = "user"
        template = "conditions/blocks/find_doctor.html"

    def get_context(self, value, parent_context=None):
        from carepath.directory.search import taxonomy_by_code

        context = super().get_context(value, parent_context)
        by_code = taxonomy_by_code()
        context["specialties"] = [by_code[c] for c in value["specialties"] if c in by_code]
        return context


IMAGE_RENDITION = "width-800"


class Rendered(NamedTuple):
    """What a page shows of an image rendition."""

    url: str
    width: int
    height: int

    @classmethod
    def of(cls, rendition):
        return cls(rendition.url, rendition.width, rendition.height)


class CopiedImageChooserBlock(ImageChooserBlock):
    """The chosen images from the process's copies (core/copies.py; an image edit is a content change): no query
    once an image is kept. Each value is a fresh instance, as Wagtail's ChooserBlock gives. Stored and migrated
    exactly as the ImageChooserBlock it is."""

    def bulk_to_python(self, values):
        values = list(values)
        kept = shared_entries("images", dict.fromkeys(values), self._pickled)
        return [None if kept.get(pk) is None else pickle.loads(kept[pk]) for pk in values]

    def _pickled(self, pks):
        return {pk: pickle.dumps(image) for pk, image in self.model_class.objects.in_bulk(pks).items()}

    def deconstruct(self):
        _, args, kwargs = super().deconstruct()
        return "wagtail.images.blocks.ImageChooserBlock", args, kwargs


class ImageBlock(blocks.StructBlock):
    image = CopiedImageChooserBlock()
    alt_text = blocks.CharBlock(
        max_length=250, help_text="What the image shows, for people who cannot see it (required)"
    )
    caption = blocks.CharBlock(max_length=250, required=False)

    class Meta:
        icon = "image"
        template = "conditions/blocks/image.html"

    def get_context(self, value, parent_context=None):
        """img: the image's rendition for the page, its URL and size kept per process (an image edit, focal point
        included, is a content change): Wagtail's {% image %} reads its rendition cache and writes it back each time."""
        from wagtail.images.shortcuts import get_rendition_or_not_found

        context = super().get_context(value, parent_context)
        image = value["image"]
        if image is not None:
            key = (image.pk, IMAGE_RENDITION)
            context["img"] = shared_entry(
                "renditions", key, lambda: Rendered.of(get_rendition_or_not_found(image, IMAGE_RENDITION))
            )
        return context

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
    image = CopiedImageChooserBlock(required=False)
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
