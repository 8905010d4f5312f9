"""Import MedQuAD (the NIH question-answer collection, CC BY 4.0) as condition guides: one guide per document.

A document's answers become the guide's sections (grouped by question type), its focus synonyms the guide's other
names, its source page a reference. The text is the source's, not CarePath's: every imported guide is marked
`imported_from="medquad"` and shows the credit the collection's licence asks for.

Writing is batched, each batch in its own transaction, so an import that stops part-way keeps what it wrote and
simply runs again: pages are keyed by the source and the document id, a re-run updates what changed and creates
nothing twice.
"""

import hashlib
import html
import json
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import parse as parse_xml
from django.db import connection, transaction
from django.db.models import F
from django.db.models.signals import post_save
from django.utils import timezone
from django.utils.text import slugify
from modelsearch.backends import get_search_backends
from modelsearch.signal_handlers import post_save_signal_handler as index_on_save
from wagtail.models import Page
from wagtail.signal_handlers import disable_reference_index_auto_update

from carepath.conditions.models import ConditionIndexPage, ConditionPage, ConditionReference
from carepath.core.site import ensure_site_structure

SOURCE = "medquad"
DEFAULT_BATCH_SIZE = 250
CITATION = (
    'Asma Ben Abacha and Dina Demner-Fushman, "A Question-Entailment Approach to Question Answering", '
    "BMC Bioinformatics 20, 511 (2019)"
)
CITATION_URL = "https://bmcbioinformatics.biomedcentral.com/articles/10.1186/s12859-019-3119-4"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"

# MedQuAD's source collections: who published the text, and the suffix that keeps imported slugs apart from the
# guides CarePath writes (/conditions/als/ is ours; NINDS's page on ALS is /conditions/als-ninds/).
PUBLISHERS = {
    "CancerGov": ("National Cancer Institute", "nci"),
    "GARD": ("Genetic and Rare Diseases Information Center (GARD), NIH", "gard"),
    "GHR": ("Genetics Home Reference, National Library of Medicine", "ghr"),
    "MPlusHealthTopics": ("MedlinePlus, National Library of Medicine", "medlineplus"),
    "NIDDK": ("National Institute of Diabetes and Digestive and Kidney Diseases", "niddk"),
    "NINDS": ("National Institute of Neurological Disorders and Stroke", "ninds"),
    "NIHSeniorHealth": ("NIHSeniorHealth, National Institute on Aging", "seniorhealth"),
    "NHLBI": ("National Heart, Lung, and Blood Institute", "nhlbi"),
    "CDC": ("Centers for Disease Control and Prevention", "cdc"),
}
# Question type -> section heading, in the order a reader meets them.
SECTIONS = {
    "information": "Overview",
    "symptoms": "Symptoms",
    "causes": "Causes",
    "genetic changes": "Genetic changes",
    "inheritance": "Inheritance",
    "frequency": "How common it is",
    "susceptibility": "Who is at risk",
    "exams and tests": "Diagnosis",
    "treatment": "Treatment",
    "prevention": "Prevention",
    "complications": "Complications",
    "stages": "Stages",
    "outlook": "Outlook",
    "considerations": "Things to consider",
    "research": "Research",
    "support groups": "Support groups",
}
SUMMARY_MAX = 300
TITLE_MAX = 255
SLUG_BASE_MAX = 80

# Tag and attribute names seen across the collection: most files use <Document id source url> with <QAPairs>; a few
# CDC files use <DiseaseFile fid>, a few NINDS files an older <doc docid corpus> with lower-case children.
ROOTS = {"document", "diseasefile", "doc"}
ID_ATTRS = ("id", "fid", "docid")
SOURCE_ATTRS = ("source", "corpus")
FOCUS_TAGS = {"focus", "doctitle-focus"}
PAIR_TAGS = {"qapair", "pair"}


class MedquadFormatError(Exception):
    """A file that is not a usable MedQuAD document; the message says why."""


@dataclass
class QuestionAnswer:
    qtype: str
    question: str
    answer: str


@dataclass
class MedquadDocument:
    path: Path
    source: str
    doc_id: str
    url: str
    focus: str
    synonyms: list
    pairs: list

    @property
    def key(self):
        """Stable across runs: the source and the document id. CancerGov splits one page into several documents
        that share its id; their file names extend the id (0000013_2_3.xml), so the file name tells them apart."""
        stem = self.path.stem
        return f"{self.source}/{stem if stem.startswith(self.doc_id) else self.doc_id}"

    @property
    def publisher(self):
        return PUBLISHERS.get(self.source, (self.source, None))[0]

    @property
    def slug_suffix(self):
        return PUBLISHERS.get(self.source, (None, slugify(self.source)))[1] or "medquad"


@dataclass
class Skipped:
    path: Path
    reason: str

    def __str__(self):
        return f"{self.path}: {self.reason}"


@dataclass
class ImportResult:
    files: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list = field(default_factory=list)
    seconds: float = 0.0

    def summary(self):
        return (
            f"{self.files} files: {self.created} guides created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {len(self.skipped)} skipped, in {self.seconds:.1f} s"
        )


# --- Reading ---------------------------------------------------------------------------------------------------


def _name(element):
    return element.tag.rsplit("}", 1)[-1].lower()


def _text(element):
    return re.sub(r"\s+", " ", "".join(element.itertext())).strip() if element is not None else ""


def _first(root, names):
    return next((e for e in root.iter() if _name(e) in names), None)


def _attr(element, names):
    return next((element.get(n).strip() for n in names if (element.get(n) or "").strip()), "")


def read_document(path):
    """Parse one MedQuAD file into a MedquadDocument; raise MedquadFormatError naming what is wrong."""
    path = Path(path)
    try:
        root = parse_xml(path).getroot()
    except ParseError as exc:
        raise MedquadFormatError(f"not well-formed XML ({exc})") from None
    except DefusedXmlException as exc:
        raise MedquadFormatError(f"refused: {exc}") from None
    if _name(root) not in ROOTS:
        raise MedquadFormatError(f"the root element is <{root.tag}>, not <Document>")
    doc_id, source, url = _attr(root, ID_ATTRS), _attr(root, SOURCE_ATTRS), (root.get("url") or "").strip()
    missing = [name for name, value in (("id", doc_id), ("source", source), ("url", url)) if not value]
    if missing:
        raise MedquadFormatError(f"<{root.tag}> has no {', '.join(missing)} attribute")
    if not url.startswith(("http://", "https://")):
        raise MedquadFormatError(f"the url attribute {url!r} is not a web address")
    focus = _text(_first(root, FOCUS_TAGS))
    if not focus:
        raise MedquadFormatError("no <Focus>: the document names no topic")
    synonyms = [_text(e) for e in root.iter() if _name(e) == "synonym" and _text(e)]
    pairs = []
    for pair in (e for e in root.iter() if _name(e) in PAIR_TAGS):
        question = next((e for e in pair if _name(e) == "question"), None)
        answer = next((e for e in pair if _name(e) == "answer"), None)
        if question is None or answer is None:
            continue
        text = "".join(answer.itertext()).strip()
        if text:
            qtype = (question.get("qtype") or "information").strip().lower()
            pairs.append(QuestionAnswer(qtype, _text(question), text))
    if not pairs:
        raise MedquadFormatError("no answered question: nothing to show")
    return MedquadDocument(path, source, doc_id, url, focus[:TITLE_MAX], synonyms, pairs)


def document_paths(directory):
    """Every .xml file under `directory`, in a stable order."""
    return sorted(p for p in Path(directory).rglob("*.xml") if p.is_file())


# --- Turning a document into a guide ---------------------------------------------------------------------------

PARAGRAPH_BREAK_RE = re.compile(r"\n\s*\n")
# MedQuAD flattens lists into "intro:    - first item    - second item": a dash after a run of spaces.
LIST_ITEM_RE = re.compile(r"\s{2,}-\s+")
SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")


def _clean(text):
    return re.sub(r"\s+", " ", text).strip()


def answer_html(text):
    """An answer's plain text as the guide's rich text: paragraphs, and the lists MedQuAD flattened."""
    text = re.sub(r"^\s*Summary\s*:\s*", "", text)
    parts = []
    for paragraph in PARAGRAPH_BREAK_RE.split(text):
        pieces = LIST_ITEM_RE.split(paragraph)
        intro = _clean(pieces[0].lstrip("- "))
        if intro:
            parts.append(f"<p>{html.escape(intro, quote=False)}</p>")
        items = [_clean(item) for item in pieces[1:] if _clean(item)]
        if items:
            parts.append("<ul>" + "".join(f"<li>{html.escape(i, quote=False)}</li>" for i in items) + "</ul>")
    return "".join(parts)


def summary_of(text):
    """The first one or two sentences of an answer's first paragraph, within the summary's 300 characters."""
    text = re.sub(r"^\s*Summary\s*:\s*", "", text.strip())
    text = _clean(LIST_ITEM_RE.split(PARAGRAPH_BREAK_RE.split(text)[0])[0])
    summary = ""
    for sentence in SENTENCE_END_RE.split(text)[:2]:
        candidate = f"{summary} {sentence}".strip()
        if len(candidate) > SUMMARY_MAX:
            break
        summary = candidate
    if not summary:
        summary = text[: SUMMARY_MAX - 3].rsplit(" ", 1)[0].rstrip(",;:") + "..."
    return summary


def body_of(doc):
    """Sections from the answers, grouped by question type in SECTIONS order (unknown types last)."""
    groups = {}
    for pair in doc.pairs:
        groups.setdefault(pair.qtype, []).append(pair)
    order = {qtype: i for i, qtype in enumerate(SECTIONS)}
    body = []
    for qtype in sorted(groups, key=lambda q: (order.get(q, len(order)), q)):
        pairs = groups[qtype]
        if len(pairs) == 1:
            text = answer_html(pairs[0].answer)
        else:
            # Several answers of one type (GARD often has these): each under its own question.
            text = "".join(
                f"<p><strong>{html.escape(p.question, quote=False)}</strong></p>{answer_html(p.answer)}" for p in pairs
            )
        heading = SECTIONS.get(qtype) or qtype.capitalize()
        body.append({"type": "section", "value": {"heading": heading[:120], "text": text}})
    return body


def page_fields(doc):
    """The values an imported guide takes from its document, and their digest (to skip unchanged documents)."""
    overview = next((p for p in doc.pairs if p.qtype == "information"), doc.pairs[0])
    seen = {doc.focus.lower()}
    also_called = []
    for name in doc.synonyms:
        if name.lower() not in seen:
            seen.add(name.lower())
            also_called.append(name)
    fields = {
        "title": doc.focus,
        "also_called": "\n".join(also_called),
        "summary": summary_of(overview.answer),
        "body": body_of(doc),
        "author": doc.publisher,
        "references": [
            {"title": doc.focus, "publisher": doc.publisher, "url": doc.url},
            {"title": "MedQuAD: the NIH question-answer collection", "publisher": CITATION, "url": CITATION_URL},
        ],
    }
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()
    return fields, digest


# --- Writing ---------------------------------------------------------------------------------------------------


class _Writer:
    """Creates and updates imported guides under /conditions/, a batch at a time."""

    def __init__(self, index, result):
        self.index = index
        self.result = result
        self.today = timezone.localdate()
        rows = ConditionPage.objects.filter(imported_from=SOURCE).values_list("import_key", "pk", "import_digest")
        self.existing = {key: (pk, digest) for key, pk, digest in rows}
        self.slugs = set(Page.objects.child_of(index).values_list("slug", flat=True))

    def new_slug(self, doc):
        base = slugify(doc.focus)[:SLUG_BASE_MAX].strip("-") or "guide"
        slug = f"{base}-{doc.slug_suffix}"
        n = 2
        while slug in self.slugs:
            slug = f"{base}-{doc.slug_suffix}-{n}"
            n += 1
        self.slugs.add(slug)
        return slug

    def _apply(self, page, fields, digest, now):
        page.title = page.draft_title = fields["title"]
        page.also_called = fields["also_called"]
        page.summary = fields["summary"]
        page.seo_title = ""
        page.search_description = ""
        page.body = fields["body"]
        page.author = fields["author"]
        page.import_digest = digest
        page.last_published_at = now
        page.references = [
            ConditionReference(sort_order=i, accessed=self.today, **ref) for i, ref in enumerate(fields["references"])
        ]

    def write(self, docs):
        """Write one batch in one transaction; a document that fails is reported and the rest of the batch kept."""
        now = timezone.now()
        known = {doc.key: self.existing[doc.key] for doc in docs if doc.key in self.existing}
        pages = ConditionPage.objects.in_bulk([pk for pk, digest in known.values()])
        saved, created = [], 0
        with transaction.atomic():
            last = self.index.get_last_child()
            step = Page._str2int(last.path[-Page.steplen :]) if last else 0
            for doc in docs:
                fields, digest = page_fields(doc)
                pk, old_digest = known.get(doc.key, (None, None))
                if pk is not None and old_digest == digest:
                    self.result.unchanged += 1
                    continue
                if pk is not None:
                    page = pages[pk]
                else:
                    # What add_child does, without asking the database for the last child every time.
                    step += 1
                    page = ConditionPage(
                        slug=self.new_slug(doc),
                        imported_from=SOURCE,
                        import_key=doc.key,
                        live=True,
                        has_unpublished_changes=False,
                        first_published_at=now,
                        path=Page._get_path(self.index.path, self.index.depth + 1, step),
                        depth=self.index.depth + 1,
                        numchild=0,
                        locale_id=self.index.locale_id,
                    )
                    page._cached_parent_obj = self.index
                self._apply(page, fields, digest, now)
                try:
                    with transaction.atomic():
                        # The values are built above within the model's limits and the slug is known to be free, so
                        # Wagtail's full_clean (a query per page) is skipped.
                        page.save(clean=False)
                except Exception as exc:  # noqa: BLE001 - one bad document must not stop the import
                    if pk is None:
                        step -= 1
                        self.slugs.discard(page.slug)
                    self.result.skipped.append(Skipped(doc.path, f"not saved: {exc}"))
                    continue
                saved.append(page)
                if pk is None:
                    created += 1
                    self.existing[doc.key] = (page.pk, digest)
                else:
                    self.result.updated += 1
            if created:
                Page.objects.filter(pk=self.index.pk).update(numchild=F("numchild") + created)
            if saved:
                # One search-index write per batch: the database backends recompute an average over the whole index
                # on every write, which per page would make a large import quadratic.
                for backend in get_search_backends(with_auto_update=True):
                    backend.add_bulk(ConditionPage, saved)
        self.result.created += created


@contextmanager
def _batched_indexing():
    """Pages are indexed for search once per batch, not on each save; imported pages hold no links, images or
    snippets, so Wagtail's reference index has nothing to record for them."""
    was_connected = post_save.disconnect(index_on_save, sender=ConditionPage)
    try:
        with disable_reference_index_auto_update():
            yield
    finally:
        if was_connected:
            post_save.connect(index_on_save, sender=ConditionPage)


def import_medquad(directory, *, batch_size=DEFAULT_BATCH_SIZE, progress=None, on_skip=None):
    """Import every MedQuAD document under `directory`; return an ImportResult.

    `progress(done, total)` is called after each batch; `on_skip(skipped)` for each file left out (malformed, or with
    no answered question), which the result lists too. Each batch is one transaction."""
    started = time.monotonic()
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(2, "no such directory", str(directory))
    paths = document_paths(directory)
    result = ImportResult(files=len(paths))
    ensure_site_structure()
    index = ConditionIndexPage.objects.get()
    writer = _Writer(index, result)
    seen = set()
    with _batched_indexing():
        for start in range(0, len(paths), batch_size):
            _import_batch(paths[start : start + batch_size], writer, seen, result, on_skip)
            if progress:
                progress(min(start + batch_size, len(paths)), len(paths))
    if connection.vendor == "postgresql" and (result.created or result.updated):
        _analyze()
    result.seconds = time.monotonic() - started
    return result


def _analyze():
    """Fresh planner statistics for the tables a large import grew, rather than waiting for autovacuum: the search
    plans over thousands of new pages depend on them."""
    from modelsearch.conf import get_app_config

    IndexEntry = get_app_config().get_model("IndexEntry")  # Wagtail's search index table (wagtailsearch_indexentry)
    tables = [Page._meta.db_table, ConditionPage._meta.db_table, ConditionReference._meta.db_table]
    tables.append(IndexEntry._meta.db_table)
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f'ANALYZE "{table}"')


def _import_batch(paths, writer, seen, result, on_skip):
    docs = []
    for path in paths:
        try:
            doc = read_document(path)
        except MedquadFormatError as exc:
            skipped = Skipped(path, str(exc))
        else:
            if doc.key not in seen:
                seen.add(doc.key)
                docs.append(doc)
                continue
            skipped = Skipped(path, f"a second document with the key {doc.key}")
        result.skipped.append(skipped)
        if on_skip:
            on_skip(skipped)
    reported = len(result.skipped)
    writer.write(docs)
    if on_skip:
        for skipped in result.skipped[reported:]:
            on_skip(skipped)
