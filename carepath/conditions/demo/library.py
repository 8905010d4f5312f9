"""Read and validate the demo library files (TOML). No database needed, so editors and CI can check
content before it is loaded."""

import csv
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from carepath.conditions import vocab

DEMO_DIR = Path(__file__).resolve().parent
SPECIALTIES_CSV = DEMO_DIR.parent.parent / "directory" / "data" / "specialties.csv"

GUIDE_SLUGS = (
    "muscle-atrophy sarcopenia rheumatoid-arthritis osteoarthritis osteoporosis psoriatic-arthritis "
    "polymyalgia-rheumatica multiple-sclerosis als guillain-barre-syndrome spinal-muscular-atrophy "
    "diabetic-neuropathy peripheral-neuropathy stroke spinal-cord-injury bone-fracture burns malnutrition "
    "alcoholic-myopathy muscular-dystrophy myasthenia-gravis fibromyalgia gout lupus carpal-tunnel-syndrome "
    "frozen-shoulder upper-arm-pain low-back-pain tendinitis"
).split()
SLIDESHOW_SLUGS = (
    "rheumatoid-arthritis-myths",
    "ways-to-ease-psoriatic-arthritis-pain",
    "things-to-avoid-with-rheumatoid-arthritis",
)
# Public sources the demo library may cite.
TRUSTED_HOSTS = ("medlineplus.gov", "nih.gov", "cdc.gov", "nhs.uk")
MAX_GRADE = 8.0
ALLOWED_TAGS = {"p", "ul", "ol", "li", "strong", "em", "a", "br"}
LINK_RE = re.compile(r'<a\s+href="([^"]*)"\s*>')
TAG_RE = re.compile(r"</?([a-zA-Z0-9]+)[^>]*>")
INTERNAL_RE = re.compile(r"^/(conditions|slideshows)/([a-z0-9-]+)/$")


@dataclass
class Problem:
    where: str
    message: str

    def __str__(self):
        return f"{self.where}: {self.message}"


@dataclass
class Library:
    guides: dict = field(default_factory=dict)
    slideshows: dict = field(default_factory=dict)
    glossary: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)


def plain_text(html):
    """Rich text as the prose a reader reads: tags dropped, sentence breaks kept."""
    text = re.sub(r"</(p|li|h\d)>", ". ", html)
    text = TAG_RE.sub(" ", text)
    text = re.sub(r"\.\s*\.", ".", text)
    return re.sub(r"\s+", " ", text).strip()


def prose_of(doc):
    """All the prose of a guide or slideshow, for readability scoring."""
    parts = [doc.get("summary", "")]
    for block in doc.get("body", []) + doc.get("slides", []):
        if block.get("heading"):
            parts.append(block["heading"].rstrip(".:?") + ".")
        if block.get("text"):
            parts.append(plain_text(block["text"]))
    return " ".join(p for p in parts if p)


def reading_grade(text):
    import textstat

    return textstat.flesch_kincaid_grade(text)


def shipped_specialty_codes():
    with SPECIALTIES_CSV.open(encoding="utf-8-sig", newline="") as f:
        return {row["Code"] for row in csv.DictReader(f)}


def _check_html(where, html, problems):
    for tag in TAG_RE.findall(html):
        if tag.lower() not in ALLOWED_TAGS:
            problems.append(Problem(where, f"tag <{tag}> is not allowed; use {sorted(ALLOWED_TAGS)}"))
    for href in LINK_RE.findall(html):
        m = INTERNAL_RE.match(href)
        if not m:
            problems.append(Problem(where, f"link {href!r} must be /conditions/<slug>/ or /slideshows/<slug>/"))
            continue
        slugs = GUIDE_SLUGS if m.group(1) == "conditions" else SLIDESHOW_SLUGS
        if m.group(2) not in slugs:
            problems.append(Problem(where, f"link {href!r} names no page of the library"))
    if "<a " in html and len(LINK_RE.findall(html)) != html.count("<a "):
        problems.append(Problem(where, 'write links exactly as <a href="/conditions/slug/">'))


def _check_references(where, refs, problems):
    if len(refs) < 2:
        problems.append(Problem(where, "needs at least two references"))
    for i, ref in enumerate(refs, 1):
        for key in ("title", "publisher", "url", "accessed"):
            if not ref.get(key):
                problems.append(Problem(f"{where} reference {i}", f"missing {key}"))
        parts = urlsplit(ref.get("url", ""))
        host = parts.hostname or ""
        if parts.scheme != "https" or not any(host == h or host.endswith("." + h) for h in TRUSTED_HOSTS):
            problems.append(
                Problem(f"{where} reference {i}", f"URL {ref.get('url')!r} is not https on {TRUSTED_HOSTS}")
            )


def _check_grade(where, doc, problems):
    grade = reading_grade(prose_of(doc))
    if grade > MAX_GRADE:
        problems.append(Problem(where, f"reading grade {grade} is above {MAX_GRADE}"))
    return grade


def load_library(base=DEMO_DIR, check_grade=True):
    lib = Library()
    problems = lib.problems
    for path in sorted((base / "glossary").glob("*.toml")):
        for i, entry in enumerate(tomllib.loads(path.read_text()).get("term", []), 1):
            where = f"{path.name} term {i}"
            term = entry.get("term", "").strip()
            if not term or not entry.get("definition"):
                problems.append(Problem(where, "needs term and definition"))
                continue
            if term.lower() in lib.glossary:
                problems.append(Problem(where, f"term {term!r} is already defined"))
                continue
            if len(entry["definition"]) > 200:
                problems.append(Problem(where, "definition is over 200 characters"))
            if entry.get("guide") and entry["guide"] not in GUIDE_SLUGS:
                problems.append(Problem(where, f"guide {entry['guide']!r} is not a library slug"))
            lib.glossary[term.lower()] = entry

    codes = shipped_specialty_codes()
    for path in sorted((base / "guides").glob("*.toml")):
        slug, where = path.stem, path.name
        if slug not in GUIDE_SLUGS:
            problems.append(Problem(where, "file name is not one of the library's guide slugs"))
        try:
            doc = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            problems.append(Problem(where, f"not valid TOML: {exc}"))
            continue
        for key in ("title", "summary", "icd10", "specialties", "body", "references"):
            if not doc.get(key):
                problems.append(Problem(where, f"missing {key}"))
        if len(doc.get("summary", "")) > 300:
            problems.append(Problem(where, "summary is over 300 characters"))
        for code in doc.get("icd10", []):
            if not vocab.is_icd10cm_code(code):
                problems.append(Problem(where, f"{code!r} is not an ICD-10-CM code"))
        for hpo_id in doc.get("hpo", []):
            if not vocab.is_hpo_id(hpo_id):
                problems.append(Problem(where, f"{hpo_id!r} is not an HPO term id"))
        for code in doc.get("specialties", []):
            if code not in codes:
                problems.append(Problem(where, f"specialty {code!r} is not in specialties.csv"))
        for s in doc.get("related", []):
            if s not in GUIDE_SLUGS and s not in SLIDESHOW_SLUGS:
                problems.append(Problem(where, f"related {s!r} is not a library slug"))
        for n, block in enumerate(doc.get("body", []), 1):
            bwhere = f"{where} body {n} ({block.get('type')})"
            kind = block.get("type")
            if kind in ("section", "callout"):
                _check_html(bwhere, block.get("text", ""), problems)
                if kind == "callout" and block.get("level") not in ("emergency", "urgent", "routine"):
                    problems.append(Problem(bwhere, "level must be emergency, urgent or routine"))
            elif kind == "image":
                if not block.get("alt"):
                    problems.append(Problem(bwhere, "image needs alt text"))
                if not (base / "images" / block.get("file", "-")).is_file():
                    problems.append(Problem(bwhere, f"image file {block.get('file')!r} not found"))
            elif kind == "find_doctor":
                for code in block.get("specialties", []):
                    if code not in codes:
                        problems.append(Problem(bwhere, f"specialty {code!r} is not in specialties.csv"))
            elif kind == "glossary":
                if block.get("term", "").lower() not in lib.glossary:
                    problems.append(Problem(bwhere, f"glossary term {block.get('term')!r} is not defined"))
            else:
                problems.append(Problem(bwhere, "unknown block type"))
        _check_references(where, doc.get("references", []), problems)
        doc["grade"] = _check_grade(where, doc, problems) if check_grade else None
        lib.guides[slug] = doc

    for path in sorted((base / "slideshows").glob("*.toml")):
        slug, where = path.stem, path.name
        if slug not in SLIDESHOW_SLUGS:
            problems.append(Problem(where, "file name is not one of the library's slideshow slugs"))
        doc = tomllib.loads(path.read_text())
        if not doc.get("slides") or not doc.get("title"):
            problems.append(Problem(where, "needs a title and slides"))
        for n, slide in enumerate(doc.get("slides", []), 1):
            _check_html(f"{where} slide {n}", slide.get("text", ""), problems)
            if slide.get("image") and not slide.get("alt"):
                problems.append(Problem(f"{where} slide {n}", "image needs alt text"))
        for s in doc.get("conditions", []):
            if s not in GUIDE_SLUGS:
                problems.append(Problem(where, f"condition {s!r} is not a library slug"))
        _check_references(where, doc.get("references", []), problems)
        doc["grade"] = _check_grade(where, doc, problems) if check_grade else None
        lib.slideshows[slug] = doc
    _check_guides_link_what_they_name(lib)
    return lib


def _check_guides_link_what_they_name(lib):
    """A guide that names another guide of the library (by title or other name) links to it somewhere."""
    names = {}
    for slug, doc in lib.guides.items():
        for name in [doc.get("title", "")] + doc.get("also_called", []):
            if len(name) >= 4:
                names[name.lower()] = slug
    for slug, doc in lib.guides.items():
        html = " ".join(block.get("text", "") for block in doc.get("body", []))
        linked = {m.group(2) for m in map(INTERNAL_RE.match, LINK_RE.findall(html)) if m}
        text = plain_text(html).lower()
        for name, target in sorted(names.items()):
            if target != slug and target not in linked and re.search(rf"\b{re.escape(name)}\b", text):
                lib.problems.append(Problem(f"{slug}.toml", f"names {name!r} but never links to /conditions/{target}/"))
                linked.add(target)
