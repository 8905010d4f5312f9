"""Building concepts from pages: on publish, one page at a time; with `build_vocabulary`, all of them."""

import re

from django.db import transaction

from carepath.conditions.models import ConditionPage, GlossaryTerm, SlideshowPage
from carepath.vocabulary import sources
from carepath.vocabulary.models import Concept, VocabularyVersion
from carepath.vocabulary.text import fold

ACRONYM_SKIP = frozenset({"of", "the", "and", "in", "with", "to", "a", "an", "or", "for"})
PARENS_RE = re.compile(r"^(?P<outer>[^()]+?)\s*\((?P<inner>[^()]+)\)\s*$")


def _names(text, kind):
    """A name and, when it has a part in parentheses, both parts: "Motor neurone disease (MND)" gives three."""
    text = " ".join(text.split())
    if not text:
        return []
    names = [(text, kind)]
    match = PARENS_RE.match(text)
    if match:
        part_kind = "title" if kind == "title" else "name"  # "ALS (amyotrophic lateral sclerosis)": both are titles
        names += [(match["outer"], part_kind), (match["inner"], part_kind)]
    names += [(acronym, "acronym") for name, _ in list(names) if (acronym := _acronym(name))]
    return names


def _acronym(name):
    """The initials of a name of three or more words: "Degenerative joint disease" -> "DJD"."""
    words = [w for w in fold(name).split() if w not in ACRONYM_SKIP]
    return "".join(w[0] for w in words).upper() if len(words) >= 3 and all(w.isalpha() for w in words) else None


def glossary_by_guide():
    by_guide = {}
    for guide_id, term in GlossaryTerm.objects.filter(guide__isnull=False).values_list("guide_id", "term"):
        by_guide.setdefault(guide_id, []).append(term)
    return by_guide


def concept_terms(page, glossary=None):
    """[(text, kind)], [codes] for a live guide or slideshow, duplicates (by folded text) removed.

    `glossary` maps guide ids to the glossary terms that name them (read from the database when not given)."""
    terms, codes = _names(page.title, "title"), []
    if isinstance(page, ConditionPage):
        for name in page.also_called_names:
            terms += _names(name, "name")
        for code in page.icd10_list:
            codes.append(code.replace(".", ""))
            description = sources.icd_name(code)
            if description:
                terms.append((description, "icd"))
        for hpo_id in page.hpo_list:
            terms += sources.hpo_names(hpo_id)
        if glossary is None:
            glossary = {page.pk: list(GlossaryTerm.objects.filter(guide=page).values_list("term", flat=True))}
        terms += [(t, "glossary") for t in glossary.get(page.pk, [])]
    return _dedupe(terms), sorted(set(codes))


def _dedupe(terms):
    weights, best = Concept.KIND_WEIGHTS, {}
    for text, kind in terms:
        key = fold(text)
        if key and (key not in best or weights[kind] > weights[best[key][1]]):
            best[key] = (text, kind)
    return [list(pair) for pair in best.values()]


def _is_searchable(page):
    return page.live and not page.get_view_restrictions().exists()


def update_concept(page):
    """Write (or remove) the concept of one page and announce a new vocabulary version."""
    page = page.specific
    if not isinstance(page, ConditionPage | SlideshowPage):
        return None
    with transaction.atomic():
        if not _is_searchable(page):
            Concept.objects.filter(page_id=page.pk).delete()
            VocabularyVersion.bump()
            return None
        terms, codes = concept_terms(page)
        concept, _ = Concept.objects.update_or_create(
            page_id=page.pk,
            defaults={
                "page_type": Concept.GUIDE if isinstance(page, ConditionPage) else Concept.SLIDESHOW,
                "title": page.title,
                "url": page.get_url() or page.url_path,
                "terms": terms,
                "codes": codes,
            },
        )
        VocabularyVersion.bump()
    return concept


@transaction.atomic
def build_vocabulary():
    """Every live guide and slideshow's concept, from scratch; returns how many."""
    Concept.objects.all().delete()
    glossary, count = glossary_by_guide(), 0
    for model, page_type in ((ConditionPage, Concept.GUIDE), (SlideshowPage, Concept.SLIDESHOW)):
        pages = model.objects.live().public().defer_streamfields().order_by("pk")
        batch = []
        for page in pages.iterator(chunk_size=500):
            terms, codes = concept_terms(page, glossary)
            batch.append(
                Concept(
                    page_id=page.pk,
                    page_type=page_type,
                    title=page.title,
                    url=page.get_url() or page.url_path,
                    terms=terms,
                    codes=codes,
                )
            )
            if len(batch) >= 500:
                Concept.objects.bulk_create(batch)
                count += len(batch)
                batch = []
        Concept.objects.bulk_create(batch)
        count += len(batch)
    VocabularyVersion.bump()
    return count
