"""Read the NUCC taxonomy CSV by column name, whatever the release's column set (see docs/formats.md)."""

import csv
import re
from dataclasses import dataclass

from django.db import transaction

from carepath.directory.models import Taxonomy

CODE_RE = re.compile(r"^[0-9A-Z]{9}X$")
REQUIRED = ("Code", "Grouping", "Classification")


class NuccFormatError(ValueError):
    pass


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    skipped: list = None

    def __post_init__(self):
        self.skipped = self.skipped or []


def read_rows(text_stream):
    """Yield (line_number, row dict) for each data row; raise NuccFormatError for a header we cannot use."""
    reader = csv.DictReader(text_stream)
    header = [h.strip().lstrip("\ufeff") for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise NuccFormatError(f"not a NUCC taxonomy file: header lacks {', '.join(missing)} (found {header[:8]})")
    reader.fieldnames = header
    for row in reader:
        yield reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}


@transaction.atomic
def import_nucc_file(path):
    """Upsert every well-formed row; malformed rows are reported (line, reason) and skipped. All or nothing."""
    result = ImportResult()
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(read_rows(f))
    existing = Taxonomy.objects.codes()
    seen = set()
    for line, row in rows:
        code = row["Code"].upper()
        if not CODE_RE.match(code):
            result.skipped.append((line, f"code {row['Code']!r} is not a 10-character NUCC code"))
            continue
        if not row["Classification"]:
            result.skipped.append((line, f"code {code} has no classification"))
            continue
        if code in seen:
            result.skipped.append((line, f"code {code} appears twice; the first row was kept"))
            continue
        seen.add(code)
        Taxonomy.objects.update_or_create(
            code=code,
            defaults={
                "grouping": row["Grouping"],
                "classification": row["Classification"],
                "specialization": row.get("Specialization", ""),
                "display_name": row.get("Display Name", ""),
            },
        )
        if code in existing:
            result.updated += 1
        else:
            result.created += 1
    return result
