"""How text becomes tokens, the same way when the vocabulary is built and when a query is read."""

import re
import unicodedata

WORD_RE = re.compile(r"[a-z0-9]+")
POSSESSIVE_RE = re.compile(r"['\u2019]s\b")
# Words that ask about a condition rather than name it ("symptoms of MS"): left out of vocabulary matching,
# still part of the full-text query.
QUESTION_WORDS = frozenset(
    """a about an and are can cause causes do does for from get have how i in is it me my of on or the to what
    when where which who why with you your sign signs symptom symptoms treatment treatments treat test tests cure
    help info information""".split()
)


def fold(text):
    """Lower case, accents off, possessives and punctuation to spaces: "Guillain-Barré" -> "guillain barre"."""
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode("ascii").lower()
    return " ".join(WORD_RE.findall(POSSESSIVE_RE.sub("", text)))


def stem(word):
    """A plural to its singular, conservatively: "muscles" -> "muscle"; "sclerosis", "arthritis" stay."""
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "ys")):
        if word.endswith("ies") and len(word) > 4:
            return word[:-3] + "y"
        return word[:-1]
    return word


def tokens(text):
    return [stem(w) for w in fold(text).split()]


def query_tokens(text):
    """The tokens of a query that can name a concept (question words left out, unless nothing else is left)."""
    words = tokens(text)
    named = [w for w in words if w not in QUESTION_WORDS]
    return named or words
