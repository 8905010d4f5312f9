"""Load the demo library (TOML files beside this module) into the page tree. Idempotent: pages that exist are kept."""

import datetime
import re
from dataclasses import dataclass, field

from django.core.files.images import ImageFile
from django.db import transaction
from wagtail.images import get_image_model

from carepath.conditions.demo.library import DEMO_DIR, INTERNAL_RE, load_library
from carepath.conditions.models import (
    ConditionIndexPage,
    ConditionPage,
    ConditionReference,
    GlossaryTerm,
    RelatedLink,
    SlideshowIndexPage,
    SlideshowPage,
    SlideshowReference,
)
from carepath.core.site import ensure_site_structure

LINKED_TEXT_RE = re.compile(r'<a\s+href="([^"]*)"\s*>(.*?)</a>', re.DOTALL)


class DemoLibraryError(Exception):
    pass


@dataclass
class LoadResult:
    created: list = field(default_factory=list)
    kept: list = field(default_factory=list)
    glossary_created: int = 0


def _rich_text(html, pages_by_path):
    """Library HTML -> Wagtail's stored rich text, internal links becoming page links. A link to a page that
    is not in the tree (deleted by an editor, say) keeps its words and loses the link."""

    def link(match):
        m = INTERNAL_RE.match(match.group(1))
        page = pages_by_path.get((m.group(1), m.group(2))) if m else None
        if page is None:
            return match.group(2)
        return f'<a linktype="page" id="{page.pk}">{match.group(2)}</a>'

    html = LINKED_TEXT_RE.sub(link, html)
    return re.sub(r">\s+<", "><", html.strip())


def _demo_image(filename):
    Image = get_image_model()
    title = f"Demo illustration: {filename}"
    image = Image.objects.filter(title=title).first()
    if image is None:
        with (DEMO_DIR / "images" / filename).open("rb") as f:
            image = Image(title=title)
            image.file.save(filename, ImageFile(f, name=filename), save=False)
            image.save()
    return image


def _body(doc, pages_by_path, glossary):
    body = []
    for block in doc["body"]:
        kind = block["type"]
        if kind == "section":
            value = {"heading": block["heading"], "text": _rich_text(block["text"], pages_by_path)}
        elif kind == "callout":
            kind = "care_callout"
            value = {
                "level": block["level"],
                "heading": block.get("heading", ""),
                "text": _rich_text(block["text"], pages_by_path),
            }
        elif kind == "find_doctor":
            value = {"specialties": list(block.get("specialties") or doc["specialties"])}
        elif kind == "image":
            value = {
                "image": _demo_image(block["file"]).pk,
                "alt_text": block["alt"],
                "caption": block.get("caption", ""),
            }
        elif kind == "glossary":
            kind = "glossary_term"
            value = {"term": glossary[block["term"].lower()].pk}
        body.append({"type": kind, "value": value})
    return body


def _references(model, page, refs):
    return [
        model(
            page=page,
            sort_order=i,
            title=r["title"],
            publisher=r["publisher"],
            url=r["url"],
            accessed=datetime.date.fromisoformat(str(r["accessed"])),
        )
        for i, r in enumerate(refs)
    ]


@transaction.atomic
def load_demo_library():
    library = load_library(check_grade=False)
    if library.problems:
        raise DemoLibraryError("the demo library has errors:\n" + "\n".join(map(str, library.problems)))
    result = LoadResult()
    ensure_site_structure()
    conditions_index = ConditionIndexPage.objects.get()
    slideshows_index = SlideshowIndexPage.objects.get()

    glossary = {}
    for key, entry in library.glossary.items():
        term, created = GlossaryTerm.objects.get_or_create(
            term__iexact=key, defaults={"term": entry["term"], "definition": entry["definition"]}
        )
        glossary[key] = term
        result.glossary_created += created

    # Pass 1: every page exists (so links and picks can point at it); new ones are remembered for pass 2.
    pages_by_path, new = {}, []
    for kind, docs, index, model in (
        ("conditions", library.guides, conditions_index, ConditionPage),
        ("slideshows", library.slideshows, slideshows_index, SlideshowPage),
    ):
        for slug, doc in docs.items():
            page = model.objects.child_of(index).filter(slug=slug).first()
            if page is None:
                page = model(title=doc["title"], slug=slug, summary=doc["summary"], is_demo=True, live=False)
                if model is ConditionPage:
                    page.body = [{"type": "section", "value": {"heading": doc["title"], "text": "<p></p>"}}]
                else:
                    page.slides = [{"type": "slide", "value": {"heading": doc["title"], "text": "<p></p>"}}]
                index.add_child(instance=page)
                new.append((kind, slug, doc, page))
                result.created.append(page.url_path)
            else:
                result.kept.append(page.url_path)
            pages_by_path[(kind, slug)] = page

    # Pass 2: content of the new pages, then publish.
    for kind, _slug, doc, page in new:
        if kind == "conditions":
            page.also_called = "\n".join(doc.get("also_called", []))
            page.icd10_codes = ", ".join(doc["icd10"])
            page.hpo_ids = ", ".join(doc.get("hpo", []))
            page.author = doc.get("author", page.author)
            page.body = _body(doc, pages_by_path, glossary)
            page.specialties.set(doc["specialties"])
            page.references = _references(ConditionReference, page, doc["references"])
            picks = [
                pages_by_path.get(("conditions", s)) or pages_by_path.get(("slideshows", s))
                for s in doc.get("related", [])
            ]
            picks = [p for p in picks if p is not None]
            page.related_links = [RelatedLink(source=page, page=p, sort_order=i) for i, p in enumerate(picks)]
        else:
            page.slides = [
                {
                    "type": "slide",
                    "value": {
                        "heading": s["heading"],
                        "image": _demo_image(s["image"]).pk if s.get("image") else None,
                        "alt_text": s.get("alt", ""),
                        "text": _rich_text(s["text"], pages_by_path),
                    },
                }
                for s in doc["slides"]
            ]
            page.conditions.set(
                [
                    pages_by_path[("conditions", s)]
                    for s in doc.get("conditions", [])
                    if ("conditions", s) in pages_by_path
                ]
            )
            page.references = _references(SlideshowReference, page, doc["references"])
            page.author = doc.get("author", page.author)
        page.save_revision().publish()

    for key, entry in library.glossary.items():
        guide = pages_by_path.get(("conditions", entry.get("guide")))
        term = glossary[key]
        if guide and term.guide_id is None:
            term.guide = guide
            term.save(update_fields=["guide"])
    return result
