"""Site search over guides and slideshows: the one module the page, the API and the benchmarks call.

A query is read once (`parse_query`, raising `SearchQueryError` naming `q`), then `search` ranks pages in two
tiers: pages whose vocabulary concept the query names (a name, an abbreviation, a lay synonym, a code, or a near
spelling of one) come first, strongest match first; then pages that Wagtail's search backend finds for the words,
expanded with the names of the concepts matched. `suggest` completes names as you type from memory alone."""

import html
import itertools
import json
import re
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils.html import escape
from django.utils.safestring import mark_safe
from wagtail.models import Page
from wagtail.search.backends import get_search_backend
from wagtail.search.models import IndexEntry
from wagtail.search.query import Or, PlainText

from carepath.conditions.models import ConditionPage, SlideshowPage
from carepath.vocabulary.build import PARENS_RE
from carepath.vocabulary.index import as_icd_code, get_index
from carepath.vocabulary.text import QUESTION_WORDS, fold, query_tokens, stem

MAX_QUERY_LENGTH = 200
MAX_RESULTS = 100
# A concept match at least this strong ranks above every plain full-text hit.
STRONG = 0.5
SNIPPET_LENGTH = 220
SNIPPET_CANDIDATES = 16
INDEX_TABLE = IndexEntry._meta.db_table
FTS_TABLE = f"{INDEX_TABLE}_fts"
SENTENCE_RE = re.compile(r"(?<=[.!?])\s+|\n+")
BREAK_RE = re.compile(r"</?(?:p|li|ul|ol|h[1-6]|br)\b[^>]*>", re.IGNORECASE)
TAG_RE = re.compile(r"<[^>]*>")
# PostgreSQL's ranking (`_postgres_ranked_ids`): a word found in a page's title counts TITLE_WEIGHT times what it
# counts in the body (measured on the labelled queries with MedQuAD loaded: 0.5 gave recall@3 0.928, 1 gave 0.910,
# 2 gave 0.886); ts_rank, divided by 1 + log(length) (normalisation 1), orders the best RERANK pages among themselves.
TITLE_WEIGHT = 0.5
RERANK = 50
RANK_WEIGHT = 0.5
RANK_NORMALIZATION = 1
# The pages a hit can be: their tables, and the field their text is in.
LISTED = ((ConditionPage, "guide", "body"), (SlideshowPage, "slideshow", "slides"))


class SearchQueryError(ValueError):
    def __init__(self, message, parameter="q"):
        super().__init__(message)
        self.parameter, self.message = parameter, message


@dataclass
class SearchQuery:
    text: str
    codes: list = field(default_factory=list)  # ICD-10-CM codes without their dot
    words: str = ""  # the rest of the query, folded


@dataclass
class SearchHit:
    title: str
    url: str
    page_type: str
    score: float
    snippet: str  # HTML: escaped text with <mark> around the matched words


@dataclass
class SearchResult:
    query: SearchQuery
    hits: list
    did_you_mean: str | None = None
    concepts: list = field(default_factory=list)  # names of the concepts the query was expanded with


@dataclass
class Suggestion:
    text: str  # the name that matched what was typed
    title: str
    url: str
    page_type: str


def parse_query(raw):
    """The query as typed, checked: not empty, at most 200 characters, some letters or digits."""
    text = " ".join((raw or "").split())
    if not text:
        raise SearchQueryError("Type what you are looking for, such as a condition, a symptom or a code (M06.9).")
    if len(text) > MAX_QUERY_LENGTH:
        raise SearchQueryError(
            f"A search can be at most {MAX_QUERY_LENGTH} characters; this one has {len(text)}. Try a few key words."
        )
    codes, words = [], []
    for word in text.split():
        code = as_icd_code(word)
        (codes if code else words).append(code or word)
    folded = fold(" ".join(words))
    if not folded and not codes:
        raise SearchQueryError("Use letters or numbers: a search made only of punctuation finds nothing.")
    return SearchQuery(text=text, codes=codes, words=folded)


def match_concepts(query, index=None):
    """{page_id: ConceptMatch} for the concepts the query names, and {word: correction}."""
    index = index or get_index()
    matches, corrections = {}, {}
    unmatched_codes = []
    for code in query.codes:
        found = index.match_code(code)
        if not found:
            unmatched_codes.append(code)  # "B12" has a code's shape but is a word here
        for match in found:
            _keep_best(matches, match)
    words = query_tokens(" ".join([query.words, *(c.lower() for c in unmatched_codes)]))
    found, corrections = index.match_words(words)
    for match in found:
        _keep_best(matches, match)
    return matches, corrections


def _keep_best(matches, match):
    held = matches.get(match.concept.page_id)
    if held is None or match.score > held.score:
        matches[match.concept.page_id] = match


def search(query, limit=10, offset=0, request=None):
    """Ranked hits for a parsed query; `limit` + `offset` at most MAX_RESULTS deep."""
    index = get_index()
    matches, corrections = match_concepts(query, index)
    strong = sorted((m for m in matches.values() if m.score >= STRONG), key=lambda m: (-m.score, not m.concept.coded))
    expansions = _expansions([m for m in strong if m.concept.page_type == "guide"][:3])
    words = [corrections.get(stem(w), w) for w in query.words.split() if w not in QUESTION_WORDS]
    depth = min(offset + limit, MAX_RESULTS)
    found = full_text_ids(" ".join(words), expansions, depth)
    text_rank = {page_id: 1.0 - i / max(len(found), 1) for i, page_id in enumerate(found)}

    ranked = []
    for page_id in set(matches) | set(found):
        match, text = matches.get(page_id), text_rank.get(page_id, 0.0)
        vocabulary = match.score if match else 0.0
        if vocabulary >= STRONG:
            key = (1, round(vocabulary, 2), match.concept.coded, text)
            score = 1.0 + vocabulary
        else:
            score = (0.5 * vocabulary + text) / 1.5
            key = (0, round(score, 4), False, text)
        ranked.append((key, page_id, score))
    ranked.sort(key=lambda r: (r[0], -r[1]), reverse=True)
    window = ranked[offset:depth]

    pages = listed_pages([page_id for _, page_id, _ in window])
    marks = _highlighter(words), _highlighter([*words, *(w for name in expansions for w in fold(name).split())])
    hits = []
    for _, page_id, score in window:
        page = pages.get(page_id)
        if page is None:  # unpublished or restricted since this process read the vocabulary
            continue
        hits.append(
            SearchHit(
                title=page.title,
                url=_url(index, page_id, page, request),
                page_type=page.page_type,
                score=round(score, 4),
                snippet=snippet(page, marks),
            )
        )
    did_you_mean = None
    if corrections and strong:
        did_you_mean = " ".join(corrections.get(stem(w), w) for w in fold(query.text).split())
    return SearchResult(query=query, hits=hits, did_you_mean=did_you_mean, concepts=expansions)


def _url(index, page_id, page, request):
    """The page's address as the vocabulary holds it (written on publish and move, from `get_url`); Wagtail's own
    for a page the vocabulary has not caught up with."""
    concept = index.by_page.get(page_id)
    if concept is not None and concept.url:
        return concept.url
    return Page(id=page_id, url_path=page.url_path).get_url(request)


def _expansions(strong):
    """Names to add to the full-text query: each strongly matched concept's title and the name that matched,
    parenthesised parts apart ("ALS (amyotrophic lateral sclerosis)" gives "ALS" and the full name)."""
    names, seen = [], set()
    for match in strong:
        for name in (match.concept.title, match.term):
            parts = PARENS_RE.match(name)
            for part in (parts["outer"], parts["inner"]) if parts else (name,):
                key = fold(part)
                if key and key not in seen and as_icd_code(part) is None:
                    seen.add(key)
                    names.append(part.strip())
    return names[:4]


def full_text_ids(words, expansions, limit):
    """Ids of live guides and slideshows that Wagtail's search index holds any of the words of, or all the words
    of any expansion, best first.

    With Wagtail's database backend on SQLite or PostgreSQL this is one ranked query over the index tables the
    backend maintains: the backend's own ranked query scores each matching row in a correlated subquery, which
    takes seconds for a common word on SQLite once there are thousands of pages. Any other backend
    (Elasticsearch, OpenSearch) is asked through its search API."""
    clauses = [[w] for w in dict.fromkeys(fold(words).split())]
    clauses += [fold(name).split() for name in expansions if fold(name)]
    if not clauses or limit <= 0:
        return []
    backend = get_search_backend()
    content_types = [ContentType.objects.get_for_model(m).pk for m in (ConditionPage, SlideshowPage)]
    backend_class = f"{type(backend).__module__}.{type(backend).__name__}"  # each module imports on its database only
    if backend_class == "modelsearch.backends.database.sqlite.sqlite.SQLiteSearchBackend":
        match = " OR ".join("(" + " AND ".join(f'"{t}"' for t in clause) + ")" for clause in clauses)
        sql = f"""
            SELECT e.object_id FROM {FTS_TABLE} f
            JOIN {INDEX_TABLE} e ON e.id = f.rowid
            JOIN wagtailcore_page p ON p.id = CAST(e.object_id AS INTEGER)
            WHERE {FTS_TABLE} MATCH %s AND e.content_type_id IN (%s, %s) AND p.live
            ORDER BY bm25({FTS_TABLE}, 0.0, 1.0, 3.0) LIMIT %s"""
        params = ["{title body} : (" + match + ")", *content_types, limit]
    elif backend_class == "modelsearch.backends.database.postgres.postgres.PostgresSearchBackend":
        return _postgres_ranked_ids(clauses, backend.config, content_types, limit)
    else:
        parts = [PlainText(" ".join(clause), operator="and") for clause in clauses]
        pages = Page.objects.live().type(ConditionPage, SlideshowPage)
        return [p.pk for p in backend.search(parts[0] if len(parts) == 1 else Or(parts), pages)[:limit]]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [int(row[0]) for row in cursor.fetchall()]


def _postgres_ranked_ids(clauses, config, content_types, limit):
    """`full_text_ids` on Wagtail's PostgreSQL index table, ranked like bm25 ranks on SQLite.

    ts_rank knows nothing of how rare a word is, so ranked over an OR of the words it puts a page whose title holds
    one common word of the query ("pain", "joints") above the page whose body holds them all. Here each clause (a
    word of the query, or an expansion's words together) is worth its inverse document frequency,
    log((N + 1) / (df + 1)), where the page's body holds it, and TITLE_WEIGHT times that where its title does; the
    clauses' worth is summed per page, and ts_rank, normalised by length, only orders the best RERANK pages among
    themselves.

    One round trip: the function `carepath_ranked_pages` (migration site_search 0001) turns the clauses into
    lexemes, probes the GIN indexes once per clause and field, scores, and reads the body vectors of the best
    RERANK pages only. It runs with sequential scans off (its SET clause): the planner does not count the cost of
    reading each row's large, compressed body vector and would scan the table for any common word."""
    terms = [" & ".join(f"'{t}'" for t in clause) for clause in clauses]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT page_id FROM carepath_ranked_pages(%s::regconfig, %s, %s, %s, %s, %s, %s, %s)"
            " ORDER BY score DESC, page_id LIMIT %s",
            [config, terms, content_types, limit, RERANK, TITLE_WEIGHT, RANK_WEIGHT, RANK_NORMALIZATION, limit],
        )
        return [row[0] for row in cursor.fetchall()]


def suggest(raw, limit=10):
    """Up to `limit` names completing what was typed, each with its page; from memory, no database query
    (beyond the throttled vocabulary version check)."""
    query = parse_query(raw)
    index = get_index()
    pairs = index.complete(query.text, limit) if query.words else []
    if len(pairs) < limit and (len(query.words) >= 3 or query.codes):
        seen = {concept.page_id for _, concept in pairs} | {fold(name) for name, _ in pairs}
        matches, _ = match_concepts(query, index)
        for match in sorted(matches.values(), key=lambda m: (-m.score, not m.concept.coded, m.concept.title)):
            name = fold(match.term)
            if match.concept.page_id not in seen and name not in seen and match.score >= STRONG / 2:
                seen.update((match.concept.page_id, name))
                pairs.append((match.term, match.concept))
    return [Suggestion(text=t, title=c.title, url=c.url, page_type=c.page_type) for t, c in pairs[:limit]]


# Snippets ---------------------------------------------------------------------------------------------------------
def _highlighter(words):
    words = sorted({w for w in words if len(w) > 1 and w not in QUESTION_WORDS}, key=len, reverse=True)
    if not words:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")(?:s|es|'s)?\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ListedPage:
    title: str
    url_path: str
    page_type: str
    summary: str
    blocks: list  # the raw blocks of the page's stream field


def listed_pages(ids):
    """{id: ListedPage} for the live pages among `ids` that no view restriction covers: one query, reading only
    what a hit shows (the ORM's two queries per page type, plus one for the restrictions, cost several times this).
    A view restriction covers its page and every page below it (Wagtail's `private_q`)."""
    if not ids:
        return {}
    joins, columns = [], []
    for model, _, field_name in LISTED:
        table, key = model._meta.db_table, model._meta.pk.column
        alias = f"t{len(joins)}"
        joins.append(f"LEFT JOIN {table} {alias} ON {alias}.{key} = p.id")
        columns += [f"{alias}.{key}", f"{alias}.summary", f"{alias}.{model._meta.get_field(field_name).column}"]
    sql = f"""
        SELECT p.id, p.title, p.url_path, {", ".join(columns)}
        FROM wagtailcore_page p {" ".join(joins)}
        WHERE p.id IN ({", ".join(["%s"] * len(ids))}) AND p.live AND NOT EXISTS (
            SELECT 1 FROM wagtailcore_pageviewrestriction r JOIN wagtailcore_page rp ON rp.id = r.page_id
            WHERE substr(p.path, 1, length(rp.path)) = rp.path)"""
    pages = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, list(ids))
        for page_id, title, url_path, *kinds in cursor.fetchall():
            for i, (_, page_type, _) in enumerate(LISTED):
                key, summary, blocks = kinds[3 * i : 3 * i + 3]
                if key is not None:
                    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
                    pages[page_id] = ListedPage(title, url_path, page_type, summary or "", blocks or [])
    return pages


def page_text(page):
    """The reader-visible text of a page, paragraph by paragraph, summary first, as it is read: a snippet seldom
    needs more than the first sections of a long page. (Tags are cut with a regular expression: the text is only
    ever shown escaped, so this needs no HTML parser.)"""
    if page.summary.strip():  # plain text, like the headings; only the blocks' "text" is rich text
        yield page.summary.strip()
    for block in page.blocks:
        value = block.get("value")
        if isinstance(value, dict):
            for text in (value.get("heading") or "", value.get("text") or ""):
                if text := html.unescape(TAG_RE.sub("", BREAK_RE.sub("\n", text))).strip():
                    yield text


def snippet(page, marks):
    """The sentence with the most words of the query (then of its expansions), escaped, matches marked;
    the summary's first sentence when none has any."""
    query_marks, marks = marks
    texts = page_text(page)
    first = next(texts, "")
    best, best_count = SENTENCE_RE.split(first, maxsplit=1)[0], (0, 0)
    texts = itertools.chain([first], texts)
    # Only paragraphs holding a match are cut into sentences, and the first matching sentences are enough:
    # imported guides run to pages of text. Sentences are compared lower-cased, by the patterns without
    # IGNORECASE (the words are folded already): the same matches, without folding case character by character.
    query_words, words = (re.compile(m.pattern) if m else None for m in (query_marks, marks))
    sentences = (
        (s, lowered)
        for t in texts
        if words and words.search(t.lower())
        for s in SENTENCE_RE.split(t)
        if words.search(lowered := s.lower())
    )
    for sentence, lowered in itertools.islice(sentences, SNIPPET_CANDIDATES):
        count = (len(set(query_words.findall(lowered))) if query_words else 0, len(set(words.findall(lowered))))
        if count > best_count:
            best, best_count = sentence.strip(), count
    if len(best) > SNIPPET_LENGTH:
        first = marks.search(best) if marks and best_count[1] else None
        start = max(0, (first.start() if first else 0) - 60)
        best = ("... " if start else "") + best[start : start + SNIPPET_LENGTH].rsplit(" ", 1)[0] + " ..."
    if not marks:
        return mark_safe(escape(best))
    out, last = [], 0
    for m in marks.finditer(best):
        out += [escape(best[last : m.start()]), "<mark>", escape(m.group(0)), "</mark>"]
        last = m.end()
    out.append(escape(best[last:]))
    return mark_safe("".join(out))
