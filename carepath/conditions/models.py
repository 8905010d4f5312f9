"""Condition guides, slideshows and the glossary."""

import re
from typing import NamedTuple

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.functional import cached_property
from modelcluster.fields import ParentalKey, ParentalManyToManyField
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel, PageChooserPanel
from wagtail.contrib.routable_page.models import RoutablePageMixin, path
from wagtail.fields import StreamField
from wagtail.models import Orderable, Page
from wagtail.search import index
from wagtail.snippets.models import register_snippet

from carepath.conditions import vocab
from carepath.conditions.blocks import ConditionBodyBlock, SlideBlock
from carepath.core.copies import Instances, shared, shared_entry
from carepath.core.pagecache import PublicPageMixin
from carepath.editorial.models import MedicalReviewMixin, review_panel

IMPORT_SOURCES = [("medquad", "MedQuAD (NIH question-answer collection, CC BY 4.0)")]
SPLIT_RE = re.compile(r"[\s,;]+")


def split_codes(value):
    return [c for c in SPLIT_RE.split(value or "") if c]


def validate_icd10cm_codes(value):
    bad = [c for c in split_codes(value) if not vocab.is_icd10cm_code(c)]
    if bad:
        raise ValidationError(
            "Not ICD-10-CM codes: %(codes)s. Use codes such as M62.50 (check them at the CDC's ICD-10-CM browser).",
            params={"codes": ", ".join(bad)},
        )


def validate_hpo_ids(value):
    bad = [c for c in split_codes(value) if not vocab.is_hpo_id(c)]
    if bad:
        raise ValidationError(
            "Not Human Phenotype Ontology term ids: %(ids)s. Use the form HP:0003202.",
            params={"ids": ", ".join(bad)},
        )


class GlossaryTerm(index.Indexed, models.Model):
    """A term with a short plain-language definition, shown inline where a guide uses the term."""

    term = models.CharField(max_length=100, unique=True)
    definition = models.CharField(max_length=200, help_text="One plain-language sentence, grade 8 or lower")
    guide = models.ForeignKey(
        "wagtailcore.Page",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The term's own guide, when there is one",
    )

    panels = [
        FieldPanel("term"),
        FieldPanel("definition"),
        PageChooserPanel("guide", "conditions.ConditionPage"),
    ]
    search_fields = [
        index.SearchField("term"),
        index.AutocompleteField("term"),
        index.SearchField("definition"),
    ]

    class Meta:
        ordering = ["term"]

    def __str__(self):
        return self.term


register_snippet(GlossaryTerm)


class GlossaryEntry(NamedTuple):
    """A glossary term as a page shows it."""

    term: str
    definition: str
    guide_id: int | None
    guide_live: bool
    guide_url: str | None

    @classmethod
    def of(cls, term):
        guide = term.guide if term.guide_id else None
        return cls(term.term, term.definition, term.guide_id, bool(guide and guide.live), guide.url if guide else None)


class Glossary:
    """Every glossary term, with the pattern that finds them in a text (the longest term where several start at one
    place) and the terms themselves for the key-term boxes; kept per process until the next content change
    (`glossary()`)."""

    def __init__(self, terms):
        terms = sorted(terms, key=lambda t: -len(t.term))
        self.by_term = {t.term.lower(): GlossaryEntry.of(t) for t in terms}
        self.by_pk = {t.pk: GlossaryEntry.of(t) for t in terms}
        self.pattern = None
        if terms:
            # A trie of the lower-cased terms (a flat alternation of forty terms is tried term by term at every word
            # boundary), entered only where a term's first letter stands: three times faster, the same matches.
            first_letters = re.escape("".join(sorted({t.term[0].lower() for t in terms})))
            self.pattern = re.compile(rf"\b(?=[{first_letters}])({_trie(self.by_term)})\b", re.IGNORECASE)
        # pk -> a fresh GlossaryTerm or None, its guide not loaded (a key-term box takes the guide's URL from the
        # entry; a caller that asks for the guide gets it from the database)
        fields = [f.attname for f in GlossaryTerm._meta.concrete_fields]
        self.term = Instances(
            {t.pk: GlossaryTerm.from_db(t._state.db, fields, [getattr(t, f) for f in fields]) for t in terms}
        )


def _trie(words):
    """A regular expression matching exactly `words`, as a trie; where one word is the start of another, the longer
    is tried first (as in an alternation sorted longest first)."""
    root = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def expression(node):
        branches = [re.escape(char) + expression(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        group = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" not in node:
            return group
        return f"(?:{group})?" if len(branches) == 1 else f"{group}?"

    return expression(root)


def glossary():
    return shared("glossary", lambda: Glossary(GlossaryTerm.objects.select_related("guide")))


class ConditionIndexPage(PublicPageMixin, Page):
    """/conditions/: the A-Z index of condition guides."""

    intro = models.TextField(blank=True)
    content_panels = Page.content_panels + [FieldPanel("intro")]
    subpage_types = ["conditions.ConditionPage"]
    max_count = 1

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        guides = ConditionPage.objects.child_of(self).live().public().order_by("title")
        letters = {}
        for guide in guides.only("title", "url_path", "summary"):
            letters.setdefault(guide.title[:1].upper(), []).append(guide)
        context["letters"] = sorted(letters.items())
        return context


class PageLink(NamedTuple):
    """A link to another page as a list shows it."""

    url: str
    title: str
    summary: str = ""


def specific_in_bulk(pages):
    """{pk: specific page} for plain pages whose rows are already read: one query per page type."""
    by_type = {}
    for page in pages:
        by_type.setdefault(page.content_type_id, {})[page.pk] = page
    found = {}
    for content_type_id, plain in by_type.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        found.update(
            model.objects.defer_streamfields().in_bulk(list(plain)) if model is not None else plain
        )  # a removed type: as Page
    return found


class ConditionPage(PublicPageMixin, RoutablePageMixin, MedicalReviewMixin, Page):
    """A condition guide written for lay readers: the page that started the project."""

    also_called = models.TextField(blank=True, help_text="Other names, one per line")
    summary = models.TextField(max_length=300, help_text="One or two plain sentences; also the meta description")
    body = StreamField(ConditionBodyBlock(), use_json_field=True)
    icd10_codes = models.CharField(
        "ICD-10-CM codes",
        max_length=500,
        blank=True,
        validators=[validate_icd10cm_codes],
        help_text="Separated by commas, e.g. M62.50, M62.59",
    )
    hpo_ids = models.CharField(
        "HPO term ids",
        max_length=500,
        blank=True,
        validators=[validate_hpo_ids],
        help_text="Human Phenotype Ontology ids separated by commas, e.g. HP:0003202",
    )
    specialties = ParentalManyToManyField("directory.Taxonomy", blank=True, related_name="condition_pages")
    author = models.CharField(max_length=200, default="CarePath editorial team")
    reviewers = ParentalManyToManyField("editorial.MedicalReviewer", blank=True, related_name="reviewed_pages")
    up_next = models.ForeignKey(
        "wagtailcore.Page",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The page suggested after this one; defaults to the next guide A-Z",
    )
    is_demo = models.BooleanField(default=False, help_text="Demo content shipped with CarePath, not for readers")
    # Guides loaded from another publisher's content (carepath import_medquad): their text is the source's, credited
    # on the page, so CarePath's own content rules (reading grade, demo checks) do not apply to it.
    imported_from = models.CharField(
        max_length=20,
        blank=True,
        choices=IMPORT_SOURCES,
        help_text="Set on guides loaded from another publisher's content; empty for guides written here",
    )
    import_key = models.CharField(max_length=200, blank=True, editable=False, help_text="The source's document key")
    import_digest = models.CharField(max_length=64, blank=True, editable=False)

    content_panels = Page.content_panels + [
        FieldPanel("also_called"),
        FieldPanel("summary"),
        FieldPanel("body"),
        MultiFieldPanel([FieldPanel("icd10_codes"), FieldPanel("hpo_ids"), FieldPanel("specialties")], heading="Codes"),
        InlinePanel("references", label="Reference", min_num=0),
        InlinePanel("related_links", label="You might also like (editor picks)"),
        PageChooserPanel("up_next"),
        review_panel(),
        FieldPanel("is_demo"),
        FieldPanel("imported_from", read_only=True),
    ]
    search_fields = Page.search_fields + [
        index.SearchField("also_called"),
        index.SearchField("summary"),
        index.SearchField("body"),
        index.FilterField("icd10_codes"),
    ]
    parent_page_types = ["conditions.ConditionIndexPage"]
    subpage_types = []

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["imported_from", "import_key"],
                condition=~Q(import_key=""),
                name="conditionpage_one_page_per_import_key",
            )
        ]

    @property
    def also_called_names(self):
        return [n.strip() for n in self.also_called.splitlines() if n.strip()]

    @property
    def icd10_list(self):
        return [vocab.normalize_icd10cm(c) for c in split_codes(self.icd10_codes)]

    @property
    def hpo_list(self):
        return split_codes(self.hpo_ids)

    @cached_property
    def specialty_list(self):
        return list(self.specialties.all())

    @cached_property
    def reference_list(self):
        return list(self.references.all())

    @cached_property
    def reviewer_list(self):
        return list(self.reviewers.all())

    def related_reading(self, limit=4):
        """Editor picks first, then live guides and slideshows that share a specialty or an ICD-10-CM category."""
        # The editor's picks in their order, read with their pages in one query, then made specific in one query per
        # page type rather than one per page.
        picked = [link.page for link in self.related_links.select_related("page") if link.page.live]
        live = specific_in_bulk(picked)
        picks = [live[page.pk] for page in picked if page.pk in live]
        seen = {self.pk, *(p.pk for p in picks)}
        # A list shows title, URL and summary only: the bodies (the largest columns) are left unread.
        slideshows = SlideshowPage.objects.live().filter(conditions=self).exclude(pk__in=seen).defer_streamfields()
        auto = list(slideshows)
        seen.update(p.pk for p in auto)
        categories = {code[:3] for code in self.icd10_list}
        specialty_codes = {s.code for s in self.specialty_list}
        # Narrow in SQL first (a large library has thousands of guides), then score the few that share something.
        shares = Q(specialties__in=specialty_codes)
        for category in categories:
            shares |= Q(icd10_codes__icontains=category)
        candidates = (
            ConditionPage.objects.live()
            .filter(shares)
            .exclude(pk__in=seen)
            .distinct()
            .defer_streamfields()
            .prefetch_related("specialties")
        )
        scored = []
        for page in candidates:
            shared = len(specialty_codes & {s.code for s in page.specialties.all()})
            shared += 2 * len(categories & {c[:3] for c in page.icd10_list})
            if shared:
                scored.append((-shared, page.title, page))
        auto += [page for _, _, page in sorted(scored, key=lambda t: (t[0], t[1]))]
        return (picks + auto)[: max(limit, len(picks))]

    def next_page(self):
        if self.up_next and self.up_next.live:
            return self.up_next.specific
        siblings = ConditionPage.objects.live().sibling_of(self, inclusive=False).order_by("title").defer_streamfields()
        return siblings.filter(title__gt=self.title).first() or siblings.first()

    def structured_data(self, request):
        """schema.org MedicalWebPage about a MedicalCondition; review facts only when there was a review."""
        condition = {
            "@type": "MedicalCondition",
            "name": self.title,
            "alternateName": self.also_called_names,
            "code": [{"@type": "MedicalCode", "code": code, "codingSystem": "ICD-10-CM"} for code in self.icd10_list],
            "relevantSpecialty": [s.short_name for s in self.specialty_list],
        }
        data = {
            "@context": "https://schema.org",
            "@type": "MedicalWebPage",
            "name": self.title,
            "headline": self.title,
            "description": self.summary,
            "url": request.build_absolute_uri(self.url),
            "inLanguage": "en",
            "audience": {"@type": "PeopleAudience", "audienceType": "Patient"},
            "author": {
                "@type": "Organization" if self.imported_from or "team" in self.author.lower() else "Person",
                "name": self.author,
            },
            "about": condition,
            "citation": [
                {"@type": "CreativeWork", "name": r.title, "url": r.url, "publisher": r.publisher}
                for r in self.reference_list
            ],
        }
        if self.last_published_at:
            data["dateModified"] = self.last_published_at.date().isoformat()
        reviewers = self.reviewer_list
        if self.last_reviewed and reviewers:
            data["lastReviewed"] = self.last_reviewed.isoformat()
            data["reviewedBy"] = [
                {
                    "@type": "Person",
                    "name": r.name,
                    "honorificSuffix": r.credentials,
                    "url": request.build_absolute_uri(r.get_absolute_url()),
                }
                for r in reviewers
            ]
        return data

    @path("share/", name="share")
    def share(self, request):
        from carepath.conditions.views import share_page

        return share_page(request, self)

    @path("")
    def guide(self, request):
        return self.render(request)

    def surroundings(self, request):
        """(related reading, up next, the index's URL) as the page shows them: plain links, kept per process until
        the next content change (core/copies.py). A preview is of a draft's own picks and codes: computed afresh."""

        def links():
            related = tuple(PageLink(p.url, p.title, getattr(p, "summary", "")) for p in self.related_reading())
            following = self.next_page()
            up_next = PageLink(following.url, following.title) if following else None
            return related, up_next, self.get_parent().url

        if getattr(request, "is_preview", False):
            return links()
        return shared_entry("guide_surroundings", self.pk, links)

    def read_lists(self, request):
        """reference_list, reviewer_list and specialty_list from the process's copy, kept until the next content
        change (a publish writes them, a reviewer edit bumps it too): fresh instances, no query. A preview shows the
        draft's own lists."""
        if getattr(request, "is_preview", False):
            return
        kept = shared_entry(
            "guide_lists",
            self.pk,
            lambda: Instances({self.pk: (self.reference_list, self.reviewer_list, self.specialty_list)}),
        )
        self.reference_list, self.reviewer_list, self.specialty_list = kept(self.pk)

    def get_context(self, request, *args, **kwargs):
        from carepath.conditions.views import ShareForm

        self.read_lists(request)
        context = super().get_context(request, *args, **kwargs)
        context.setdefault("share_form", ShareForm())
        context["related"], context["up_next"], context["index_url"] = self.surroundings(request)
        context["references"] = self.reference_list
        context["reviewer_list"] = self.reviewer_list
        context["structured_data"] = self.structured_data(request)
        return context


class Reference(Orderable):
    title = models.CharField(max_length=300)
    publisher = models.CharField(max_length=200)
    url = models.URLField("URL", max_length=500)
    accessed = models.DateField("date accessed")

    panels = [FieldPanel("title"), FieldPanel("publisher"), FieldPanel("url"), FieldPanel("accessed")]

    class Meta(Orderable.Meta):
        abstract = True

    def __str__(self):
        return self.title


class ConditionReference(Reference):
    page = ParentalKey(ConditionPage, on_delete=models.CASCADE, related_name="references")


class RelatedLink(Orderable):
    source = ParentalKey(ConditionPage, on_delete=models.CASCADE, related_name="related_links")
    page = models.ForeignKey("wagtailcore.Page", on_delete=models.CASCADE, related_name="+")

    panels = [PageChooserPanel("page", ["conditions.ConditionPage", "conditions.SlideshowPage"])]


class SlideshowIndexPage(PublicPageMixin, Page):
    """/slideshows/: every slideshow."""

    intro = models.TextField(blank=True)
    content_panels = Page.content_panels + [FieldPanel("intro")]
    subpage_types = ["conditions.SlideshowPage"]
    max_count = 1

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["slideshows"] = SlideshowPage.objects.child_of(self).live().public().order_by("title")
        return context


class SlideshowPage(PublicPageMixin, RoutablePageMixin, MedicalReviewMixin, Page):
    """Ordered slides ("8 myths about ..."); each slide has its own address: <slideshow>/<n>/."""

    summary = models.TextField(max_length=300)
    slides = StreamField([("slide", SlideBlock())], use_json_field=True, min_num=1)
    conditions = ParentalManyToManyField(ConditionPage, blank=True, related_name="slideshows")
    author = models.CharField(max_length=200, default="CarePath editorial team")
    reviewers = ParentalManyToManyField("editorial.MedicalReviewer", blank=True, related_name="reviewed_slideshows")
    is_demo = models.BooleanField(default=False)

    content_panels = Page.content_panels + [
        FieldPanel("summary"),
        FieldPanel("slides"),
        FieldPanel("conditions"),
        InlinePanel("references", label="Reference"),
        review_panel(),
        FieldPanel("is_demo"),
    ]
    search_fields = Page.search_fields + [index.SearchField("summary"), index.SearchField("slides")]
    parent_page_types = ["conditions.SlideshowIndexPage"]
    subpage_types = []

    @path("")
    def first_slide(self, request):
        return self.show_slide(request, 1)

    @path("<int:number>/")
    def slide(self, request, number):
        return self.show_slide(request, number)

    def show_slide(self, request, number):
        from django.http import Http404

        slides = list(self.slides)
        if not 1 <= number <= len(slides):
            raise Http404("No such slide")
        return self.render(
            request,
            context_overrides={
                "slide": slides[number - 1].value,
                "number": number,
                "total": len(slides),
                "previous_number": number - 1 if number > 1 else None,
                "next_number": number + 1 if number < len(slides) else None,
                "references": list(self.references.all()),
                "reviewer_list": list(self.reviewers.all()),
            },
        )


class SlideshowReference(Reference):
    page = ParentalKey(SlideshowPage, on_delete=models.CASCADE, related_name="references")
