"""The in-memory vocabulary a serving process reads: lay terms, abbreviations and codes -> concepts.

Built from the `Concept` rows once per vocabulary version (a process re-checks the version at most every
`VOCABULARY_RECHECK_SECONDS`), never per query. Queries then touch only dictionaries and sorted lists."""

import bisect
import math
import re
import sys
import threading
import time
from array import array
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from rapidfuzz import process
from rapidfuzz.distance import OSA

from carepath.vocabulary.models import Concept, VocabularyVersion
from carepath.vocabulary.text import fold, tokens

ICD_CODE_RE = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?$")
# Kinds offered as you type: the names people use. Codes' long descriptions and HPO's clinical synonyms only match.
SUGGEST_KINDS = frozenset({"title", "name", "glossary", "hpo_lay"})
AFTER_LAST = "{"  # sorts after every folded character ([a-z0-9 ])
RARE = 2  # a known word on at most this many names may still be a misspelling of a commoner one


@dataclass(frozen=True, slots=True)
class ConceptRef:
    page_id: int
    page_type: str
    title: str
    url: str
    coded: bool  # holds ICD-10-CM codes: an editor pinned down what the page is about


@dataclass(slots=True)
class ConceptMatch:
    concept: ConceptRef
    score: float  # 0..1: 1 is a name or code of the concept given exactly
    term: str  # the name (or code) that matched


def as_icd_code(word):
    """'m62.50' -> 'M6250' when the word has the shape of an ICD-10-CM code, else None."""
    word = word.strip(".,;:").upper()
    return word.replace(".", "") if ICD_CODE_RE.match(word) else None


class VocabularyIndex:
    def __init__(self, rows):
        """rows: (page_id, page_type, title, url, terms, codes) for every concept."""
        self.concepts = []
        self.by_page = {}  # page id -> ConceptRef
        self.term_concept = array("I")
        self.term_weight = array("f")
        self.term_tokens = []
        self.term_text = []
        self.postings = defaultdict(list)
        self.codes = {}
        document_frequency = defaultdict(int)
        weights = Concept.KIND_WEIGHTS
        start_keys, inner_keys = [], []
        for page_id, page_type, title, url, terms, codes in rows:
            concept_id = len(self.concepts)
            self.concepts.append(ConceptRef(page_id, page_type, title, url, bool(codes)))
            self.by_page[page_id] = self.concepts[-1]
            seen_tokens = set()
            for text, kind in terms:
                term_tokens = tuple(sys.intern(t) for t in tokens(text))
                if not term_tokens:
                    continue
                term_id = len(self.term_text)
                self.term_concept.append(concept_id)
                self.term_weight.append(weights.get(kind, 0.5))
                self.term_tokens.append(term_tokens)
                self.term_text.append(text)
                for token in set(term_tokens):
                    self.postings[token].append(term_id)
                seen_tokens.update(term_tokens)
                if kind in SUGGEST_KINDS:
                    words = fold(text).split()
                    start_keys.append((" ".join(words), term_id))
                    inner_keys += [(" ".join(words[i:]), term_id) for i in range(1, len(words))]
            for token in seen_tokens:
                document_frequency[token] += 1
            for code in codes:
                self.codes.setdefault(code, []).append(concept_id)
        count = max(len(self.concepts), 1)
        self.idf = {t: math.log(1 + count / df) for t, df in document_frequency.items()}
        # Each name's words' worth together: the share of a name that a query's words cover is taken of this.
        self.term_worth = array("d", (sum(self.idf[t] for t in term_tokens) for term_tokens in self.term_tokens))
        self.unknown_idf = math.log(1 + count)
        self.postings = dict(self.postings)
        # Words that may be misspelt, by length: a word is only compared with those it could be an edit or two from.
        self.fuzzy_by_length = defaultdict(list)
        for token in sorted(self.postings):
            if len(token) >= 3 and not token.isdigit():
                self.fuzzy_by_length[len(token)].append(token)
        self.fuzzy_by_length = dict(self.fuzzy_by_length)
        self.sorted_codes = sorted(self.codes)
        start_keys.sort()
        inner_keys.sort()
        self.start_keys = [k for k, _ in start_keys]
        self.start_terms = array("I", (t for _, t in start_keys))
        self.inner_keys = [k for k, _ in inner_keys]
        self.inner_terms = array("I", (t for _, t in inner_keys))

    def __len__(self):
        return len(self.concepts)

    # Words --------------------------------------------------------------------------------------------------
    def spellings(self, token):
        """[(vocabulary token, weight)] that a query token stands for: itself when known, else near spellings.

        Short tokens (abbreviations: "ms", "ra") must match exactly; longer ones may be one edit away (two from
        eight letters), a swap of neighbours counting as one edit ("rheumatiod"). A rare word the vocabulary
        knows may itself be a typo in some page's name ("mutiple"): it keeps its full weight, and its near
        spellings come along."""
        known = token in self.postings
        if known and (len(token) < 5 or len(self.postings[token]) > RARE):
            return [(token, 1.0)]
        if len(token) < 4 or token.isdigit():
            return [(token, 1.0)] if known else []
        most = 1 if len(token) < 8 else 2
        near = [t for n in range(len(token) - most, len(token) + most + 1) for t in self.fuzzy_by_length.get(n, ())]
        found = process.extract(token, near, scorer=OSA.distance, score_cutoff=most, limit=6)
        # Nearest first; among equals, the word more pages use.
        found.sort(key=lambda f: (f[1], -len(self.postings[f[0]])))
        spellings = [(choice, 1.0 - 0.15 * distance) for choice, distance, _ in found if choice != token]
        return [(token, 1.0)] + spellings if known else spellings[:5]

    def match_words(self, words):
        """Concepts named by the query's words, best first, and {misspelt word: correction}."""
        if not words:
            return [], {}
        candidates = [self.spellings(w) for w in words]
        corrections = {w: c[0][0] for w, c in zip(words, candidates, strict=True) if c and c[0][0] != w}
        weights = [max((self.idf[t] for t, _ in c), default=self.unknown_idf) for c in candidates]
        total = sum(weights)
        # term id -> (query position, vocabulary token, weight) while one position of the query matches the name
        # (most names: a common word of the query is in thousands), {position: (token, weight)} once several do.
        hits = {}
        postings = self.postings
        for position, spellings in enumerate(candidates):
            for token, weight in spellings:
                for term_id in postings[token]:
                    held = hits.get(term_id)
                    if held is None:
                        hits[term_id] = (position, token, weight)
                    elif type(held) is tuple:
                        if held[0] != position:
                            hits[term_id] = {held[0]: held[1:], position: (token, weight)}
                        elif held[2] < weight:
                            hits[term_id] = (position, token, weight)
                    elif position not in held or held[position][1] < weight:
                        held[position] = (token, weight)
        best = {}
        idf, term_worth, term_weight, term_concept = self.idf, self.term_worth, self.term_weight, self.term_concept
        for term_id, matched in hits.items():
            if type(matched) is tuple:
                position, token, weight = matched
                query_share = weights[position] * weight / total
                term_share = idf[token] * weight / term_worth[term_id]
            else:
                query_share = sum(weights[p] * w for p, (_, w) in matched.items()) / total
                got = {}
                for token, weight in matched.values():
                    got[token] = max(got.get(token, 0.0), weight)
                term_share = sum(idf[t] * w for t, w in got.items()) / term_worth[term_id]
            score = term_weight[term_id] * query_share * (0.5 + 0.5 * min(term_share, 1.0))
            concept_id = term_concept[term_id]
            if score > best.get(concept_id, (0.0, 0))[0]:
                best[concept_id] = (score, term_id)
        matches = [ConceptMatch(self.concepts[c], round(score, 4), self.term_text[t]) for c, (score, t) in best.items()]
        return _ranked(matches), corrections

    # Codes --------------------------------------------------------------------------------------------------
    def match_code(self, code):
        """Concepts for an ICD-10-CM code (without its dot): the page holding it, then one holding an ancestor
        (a guide holding M62.5 answers M62.50..M62.59), then one holding a descendant, and failing all of
        those the pages holding codes of the nearest shared category (M62.51 finds the guide on M62.50)."""
        scores = {}

        def add(concept_ids, score):
            for c in concept_ids:
                scores[c] = max(scores.get(c, 0.0), score)

        add(self.codes.get(code, ()), 1.0)
        for length in range(len(code) - 1, 2, -1):
            add(self.codes.get(code[:length], ()), 0.95)
        add(self._codes_under(code), 0.85)
        length = len(code) - 1
        while not scores and length >= 3:
            add(self._codes_under(code[:length]), 0.6 + 0.05 * (length - 3))
            length -= 1
        matches = [ConceptMatch(self.concepts[c], s, _dotted(code)) for c, s in scores.items()]
        return _ranked(matches)

    def _codes_under(self, prefix):
        start = bisect.bisect_left(self.sorted_codes, prefix)
        end = bisect.bisect_left(self.sorted_codes, prefix + "~")
        return [c for code in self.sorted_codes[start:end] for c in self.codes[code]]

    # As you type --------------------------------------------------------------------------------------------
    def complete(self, text, limit=10, scan=400):
        """Up to `limit` (name, concept) pairs whose name starts with the typed text, or has a word that does;
        one per concept and per name, names that start with it first."""
        prefix = fold(text)
        if not prefix:
            return []
        found, seen, seen_names = [], set(), set()
        for keys, term_ids, inner in ((self.start_keys, self.start_terms, 0), (self.inner_keys, self.inner_terms, 1)):
            start = bisect.bisect_left(keys, prefix)
            end = min(bisect.bisect_left(keys, prefix + AFTER_LAST), start + scan)
            candidates = sorted(
                term_ids[start:end],
                key=lambda t: (
                    -self.term_weight[t],
                    not self.concepts[self.term_concept[t]].coded,
                    len(self.term_text[t]),
                    self.term_text[t],
                ),
            )
            for term_id in candidates:
                concept_id, name = self.term_concept[term_id], fold(self.term_text[term_id])
                # One line per name: several imported pages share a title; the best of them is offered.
                if concept_id not in seen and name not in seen_names:
                    seen.add(concept_id)
                    seen_names.add(name)
                    found.append((inner, self.term_text[term_id], self.concepts[concept_id]))
        found.sort(key=lambda f: (f[0], len(f[1])))
        return [(text, concept) for _, text, concept in found[:limit]]


def _dotted(code):
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def _ranked(matches):
    # Equal strength: a coded guide (an editor pinned it to ICD-10-CM) before an uncoded one, then A-Z.
    return sorted(matches, key=lambda m: (-m.score, not m.concept.coded, m.concept.title))


# The process-wide copy ------------------------------------------------------------------------------------------
_lock = threading.Lock()
_loaded = {"index": None, "token": None, "checked": float("-inf")}


def load_index():
    """A fresh index from the database (the version token read first, so a change made while reading is seen)."""
    token = VocabularyVersion.current()
    rows = Concept.objects.values_list("page_id", "page_type", "title", "url", "terms", "codes").iterator(2000)
    return token, VocabularyIndex(rows)


def get_index():
    """This process's index, reloaded when the vocabulary version changed (checked at most every
    VOCABULARY_RECHECK_SECONDS, so most requests run no query for it)."""
    now = time.monotonic()
    if _loaded["index"] is not None and now - _loaded["checked"] < settings.VOCABULARY_RECHECK_SECONDS:
        return _loaded["index"]
    with _lock:
        token = VocabularyVersion.current()
        _loaded["checked"] = now
        if _loaded["index"] is None or token != _loaded["token"]:
            _loaded["token"], _loaded["index"] = load_index()
        return _loaded["index"]
