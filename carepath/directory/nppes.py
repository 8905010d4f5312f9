"""Import the NPPES NPI registry (CMS "Data Dissemination") into the provider directory.

The input is the monthly main file `npidata_pfile_<start>-<end>.csv`, the zip CMS ships it in, or a weekly update
(same 330 columns). Columns are read by name (docs/formats.md), so a release that moves or renames other columns
still loads; `Provider Gender Code` (2017-2025) and `Provider Sex Code` (newer files) are both understood.

How a file goes in:
- It is streamed in chunks of whole records, read by pyarrow and checked a column at a time (nppes_columns); the
  row-by-row RecordReader and RowParser below take any chunk or row those checks are not sure of. Only a few
  batches of rows (--batch-size) are held at a time, whatever the file's size.
- Each batch is written in its own transaction, so a provider is either wholly written (row, specialties, primary
  location) or not at all. Every write is an upsert keyed by NPI, so an interrupted import run again from the start
  ends in the same state as one that was never interrupted.
- On PostgreSQL a batch is COPYed into a temporary staging table and merged with a few set-based statements; a first
  load into an empty directory instead COPYs each batch straight into the tables, with their keys, indexes and
  foreign keys set aside and built once, at the end. Elsewhere (SQLite) each statement runs once for the whole
  batch (executemany).
- What NPPES owns is replaced: names, credential, sex, dates, specialties, the primary practice location. What the
  directory owns is never touched: reviews, rating_*, accepting_new_patients, languages, other locations.
- Rows we cannot use are skipped and written to a report (line, NPI, reason); they never stop the import.
"""

import csv
import io
import os
import queue
import re
import sys
import threading
import time
import zipfile
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date
from functools import cache, partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from carepath.core.pagecache import invalidate
from carepath.directory import search_index
from carepath.directory.geo import zip_centroid
from carepath.directory.models import (
    PracticeLocation,
    Provider,
    ProviderSearchEntry,
    ProviderSpecialty,
    Taxonomy,
    npi_check_digit_ok,
)
from carepath.directory.nppes_columns import ColumnParser, Rows, record_chunks, text_of, zip_rows, zip_table

DEFAULT_BATCH_SIZE = 20000
TAXONOMY_SLOTS = range(1, 16)
US_COUNTRY_CODES = ("", "US")

# Provider field -> NPPES column. The sex column is looked up separately: its name changed in 2025.
PROVIDER_COLUMNS = {
    "organization_name": "Provider Organization Name (Legal Business Name)",
    "last_name": "Provider Last Name (Legal Name)",
    "first_name": "Provider First Name",
    "middle_name": "Provider Middle Name",
    "name_prefix": "Provider Name Prefix Text",
    "name_suffix": "Provider Name Suffix Text",
    "credential": "Provider Credential Text",
}
SEX_COLUMNS = ("Provider Sex Code", "Provider Gender Code")
LOCATION_COLUMNS = {
    "address_line1": "Provider First Line Business Practice Location Address",
    "address_line2": "Provider Second Line Business Practice Location Address",
    "city": "Provider Business Practice Location Address City Name",
    "state": "Provider Business Practice Location Address State Name",
    "phone": "Provider Business Practice Location Address Telephone Number",
}
POSTAL_CODE = "Provider Business Practice Location Address Postal Code"
COUNTRY_CODE = "Provider Business Practice Location Address Country Code (If outside U.S.)"
OTHER_COLUMNS = (
    "NPI",
    "Entity Type Code",
    "Provider Enumeration Date",
    "Last Update Date",
    "NPI Deactivation Date",
    "NPI Reactivation Date",
    POSTAL_CODE,
    COUNTRY_CODE,
)
TAXONOMY_COLUMNS = [
    (f"Healthcare Provider Taxonomy Code_{i}", f"Healthcare Provider Primary Taxonomy Switch_{i}")
    for i in TAXONOMY_SLOTS
]

# The order of values in Record.provider and Record.location; also the staging table's column order.
PROVIDER_FIELDS = (
    "entity_type",
    *PROVIDER_COLUMNS,
    "sex",
    "enumeration_date",
    "last_updated",
)
LOCATION_FIELDS = (*LOCATION_COLUMNS, "zip5", "latitude", "longitude")


class NppesFormatError(ValueError):
    """The file as a whole cannot be read as an NPPES main file (nothing was imported)."""


class BadRow(ValueError):
    """One row cannot be imported; the message is the reason written to the report."""


@dataclass(slots=True)
class Record:
    """One usable row: a provider to upsert, or a deactivated NPI."""

    npi: str
    deactivated: bool = False
    provider: tuple = ()  # values in PROVIDER_FIELDS order
    codes: tuple = ()  # NUCC codes, each once, in file order
    primary_codes: tuple = ()
    location: tuple | None = None  # values in LOCATION_FIELDS order; None outside the US


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    skipped: int = 0
    batches: int = 0
    report_path: Path | None = None
    incremental: bool = False
    first_load: bool = False  # into an empty directory on PostgreSQL: indexes and foreign keys built at the end
    rebuild_seconds: float = 0.0

    def summary(self):
        text = (
            f"{self.rows:,} rows read: {self.created:,} providers created, {self.updated:,} updated, "
            f"{self.deactivated:,} deactivated, {self.skipped:,} rows skipped"
        )
        if self.skipped:
            text += f" (reasons in {self.report_path})"
        if self.first_load:
            text += f"; first load: indexes and foreign keys built in {self.rebuild_seconds:,.0f} s"
        return text


@dataclass
class Columns:
    """Positions of the columns we read, found by name in the header row."""

    width: int
    npi: int
    entity_type: int
    enumeration_date: int
    last_updated: int
    deactivation_date: int
    reactivation_date: int
    postal_code: int
    country_code: int
    sex: int
    provider: list = field(default_factory=list)  # positions of PROVIDER_COLUMNS, in order
    location: list = field(default_factory=list)  # positions of LOCATION_COLUMNS, in order
    taxonomies: list = field(default_factory=list)  # (code, primary switch) positions

    @property
    def read(self):
        """The positions of every column read, in order."""
        singles = [self.npi, self.entity_type, self.enumeration_date, self.last_updated, self.deactivation_date]
        singles += [self.reactivation_date, self.postal_code, self.country_code, self.sex]
        return sorted({*singles, *self.provider, *self.location, *(i for pair in self.taxonomies for i in pair)})

    @property
    def last(self):
        """The position of the last column read."""
        return self.read[-1]

    @classmethod
    def from_header(cls, header):
        if not header:
            raise NppesFormatError("the file is empty")
        names = [h.strip().lstrip("\ufeff") for h in header]
        position = {name: i for i, name in enumerate(names)}
        needed = [*OTHER_COLUMNS, *PROVIDER_COLUMNS.values(), *LOCATION_COLUMNS.values()]
        needed += [name for pair in TAXONOMY_COLUMNS for name in pair]
        missing = [name for name in needed if name not in position]
        sex = next((position[name] for name in SEX_COLUMNS if name in position), None)
        if sex is None:
            missing.append(" or ".join(SEX_COLUMNS))
        if missing:
            shown = ", ".join(repr(m) for m in missing[:5]) + (
                f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            )
            raise NppesFormatError(f"not an NPPES main file: the header lacks {shown} (found {names[:4]} ...)")
        return cls(
            width=len(names),
            npi=position["NPI"],
            entity_type=position["Entity Type Code"],
            enumeration_date=position["Provider Enumeration Date"],
            last_updated=position["Last Update Date"],
            deactivation_date=position["NPI Deactivation Date"],
            reactivation_date=position["NPI Reactivation Date"],
            postal_code=position[POSTAL_CODE],
            country_code=position[COUNTRY_CODE],
            sex=sex,
            provider=[position[name] for name in PROVIDER_COLUMNS.values()],
            location=[position[name] for name in LOCATION_COLUMNS.values()],
            taxonomies=[(position[code], position[switch]) for code, switch in TAXONOMY_COLUMNS],
        )


@cache
def _max_lengths():
    lengths = {f.attname: f.max_length for f in Provider._meta.concrete_fields if f.max_length}
    lengths.update({f.attname: f.max_length for f in PracticeLocation._meta.concrete_fields if f.max_length})
    return lengths


class RowParser:
    """Turns one CSV row (a list of strings) into a Record, or raises BadRow with the reason."""

    def __init__(self, columns, known_codes):
        self.columns = columns
        self.known_codes = known_codes
        lengths = _max_lengths()
        # (position, field, longest value it takes) for the text we store
        self.provider_text = [(i, f, lengths[f]) for i, f in zip(columns.provider, PROVIDER_COLUMNS, strict=True)]
        self.provider_text.append((columns.sex, "sex", lengths["sex"]))
        self.location_text = [(i, f, lengths[f]) for i, f in zip(columns.location, LOCATION_COLUMNS, strict=True)]
        self.dates = {}  # "MM/DD/YYYY" -> date: a file has a few thousand distinct dates and millions of rows

    def parse(self, row):
        c = self.columns  # the reader has checked the row's width
        npi = row[c.npi].strip()
        if not npi_check_digit_ok(npi):
            raise BadRow(f"NPI {npi!r} is not 10 digits with a valid check digit")

        deactivated_on = self.date(row[c.deactivation_date], "NPI Deactivation Date")
        if deactivated_on:
            reactivated_on = self.date(row[c.reactivation_date], "NPI Reactivation Date")
            if not reactivated_on or reactivated_on < deactivated_on:
                return Record(npi, deactivated=True)

        entity_type = row[c.entity_type].strip()
        if entity_type not in ("1", "2"):
            raise BadRow(f"Entity Type Code {entity_type!r} is not 1 or 2, and the NPI is not deactivated")
        text = self.text(row, self.provider_text)  # organization name, last name, first name, ..., sex
        if entity_type == "1" and not text[1]:
            raise BadRow("an individual without a last name")
        if entity_type == "2" and not text[0]:
            raise BadRow("an organization without an organization name")
        provider = (
            int(entity_type),
            *text,
            self.date(row[c.enumeration_date], "Provider Enumeration Date"),
            self.date(row[c.last_updated], "Last Update Date"),
        )

        codes, primary = [], []
        for code_at, switch_at in c.taxonomies:
            code = row[code_at]
            if not code:  # most of the 15 slots are empty
                continue
            code = code.strip()
            if code not in self.known_codes:
                raise BadRow(f"taxonomy code {code!r} is not in the taxonomy table (load the NUCC file first)")
            if code not in codes:  # the same code recurs with each state licence
                codes.append(code)
            if row[switch_at].strip() == "Y" and code not in primary:
                primary.append(code)
        if len(codes) == 1 and not primary:
            primary = codes  # an only specialty is the primary one; older records leave the switch unanswered ("X")

        return Record(npi, False, provider, tuple(codes), tuple(primary), self.location(row))

    def location(self, row):
        c = self.columns
        if row[c.country_code].strip().upper() not in US_COUNTRY_CODES:
            return None  # outside the US: no ZIP centroid, and the directory is searched by US ZIP
        postal = row[c.postal_code].strip()
        zip5 = postal[:5]
        centroid = zip_centroid(zip5) if len(postal) in (5, 9) and postal.isdigit() else None
        if centroid is None:
            raise BadRow(f"practice ZIP code {postal!r} is not a US ZIP code")
        return (*self.text(row, self.location_text), zip5, *centroid)

    def date(self, text, column):
        if not text:
            return None
        parsed = self.dates.get(text)
        if parsed is None:
            try:
                month, day, year = text.split("/")
                parsed = date(int(year), int(month), int(day))
            except ValueError:
                raise BadRow(f"{column} {text!r} is not a MM/DD/YYYY date") from None
            self.dates[text] = parsed
        return parsed

    @staticmethod
    def text(row, columns):
        # PostgreSQL refuses an over-long value, and the whole batch with it. NPPES's own limits are shorter than
        # our columns, so a longer value means a broken row.
        values = []
        for position, name, longest in columns:
            value = row[position].strip()
            if len(value) > longest:
                raise BadRow(f"{name.replace('_', ' ')} is longer than {longest} characters")
            values.append(value)
        return values


@contextmanager
def open_nppes(path):
    """Yield (binary stream, size in bytes) for a CSV, or for the main file inside a CMS zip."""
    with open(path, "rb") as f:
        is_zip = f.read(4) == b"PK\x03\x04"
    if is_zip:
        with zipfile.ZipFile(path) as archive:
            member = main_member(archive)
            with archive.open(member) as raw:
                yield raw, member.file_size
    else:
        with open(path, "rb") as raw:
            yield raw, os.fstat(raw.fileno()).st_size


def main_member(archive):
    """The npidata_pfile_*.csv in a CMS zip (not its *_FileHeader.csv, not the pl_/othername_/endpoint_ files)."""
    found = [
        info
        for info in archive.infolist()
        if Path(info.filename).name.lower().startswith("npidata_pfile_")
        and info.filename.lower().endswith(".csv")
        and "fileheader" not in info.filename.lower()
    ]
    if len(found) != 1:
        names = ", ".join(archive.namelist()[:10])
        raise NppesFormatError(f"expected one npidata_pfile_*.csv in the zip, found {len(found)} (in: {names})")
    return found[0]


class RecordReader:
    """The rows of an NPPES file, read fast where the file is as CMS writes it, by the csv module elsewhere.

    CMS quotes every field ("1234567893","1","",...). A record whose every field is quoted and holds no quote of
    its own has exactly two quotes per field, so it can be cut at '","' without parsing it (str.split, in C) and
    only as far as the last column read: about three times faster than csv.reader over all 330 columns. Any
    other record (a quote inside a value, an unquoted field, a line break inside a value, a truncated line) goes
    through csv.reader, so what is read is the same either way. Yields (line, row or None, error or None) as
    numbered_rows does; a row holds at least the columns up to `needed` (more when csv read it), and a row
    whose width is not the header's comes back as an error."""

    def __init__(self, text, width, needed, first_line=1):
        self.text, self.width, self.needed, self.first_line = text, width, needed, first_line
        self.fast = 0  # records cut by the fast path, for tests and benchmarks

    def __iter__(self):
        separators, split_at = self.width - 1, self.needed + 1
        record, quotes, start, line = None, 0, 0, self.first_line - 1
        for physical in self.text:
            line += 1
            if record is None:
                record, quotes, start = physical, physical.count('"'), line
            else:  # a quoted value went on past a line break
                record += physical
                quotes += physical.count('"')
            if quotes % 2:
                continue
            if record.strip():
                yield start, *self._row(record, quotes, separators, split_at)
            record = None
        if record is not None and record.strip():  # the file ends inside a quoted value: a truncated line
            yield start, *self._row(record, quotes, separators, split_at)

    def _row(self, record, quotes, separators, split_at):
        body = record.rstrip("\r\n")
        if quotes == 2 * self.width and body[:1] == '"' and body[-1:] == '"' and body.count('","') == separators:
            self.fast += 1
            return body[1:-1].split('","', split_at), None
        try:
            rows = list(csv.reader([record]))
        except csv.Error as exc:
            return None, f"unreadable CSV: {exc}"
        if len(rows) != 1 or not rows[0]:
            return None, "unreadable CSV: the record does not parse as one row"
        row = rows[0]
        if len(row) != self.width:
            return row, f"the row has {len(row)} columns, the header {self.width} (a truncated or broken line)"
        return row, None


def default_report_path(path):
    path = Path(path)
    return path.with_name(f"{path.stem}.errors.csv")


def import_nppes_file(path, *, report=None, batch_size=DEFAULT_BATCH_SIZE, incremental=False, progress=None):
    """Upsert every usable row of an NPPES main or weekly file; return an ImportResult.

    `report` is where the skipped rows go (CSV: line, npi, reason; default `<name>.errors.csv` beside the file).
    `progress`, if given, is called as progress(bytes_read, total_bytes, rows) after each batch, and with a `note`
    when the import moves to a long step that reads no rows.
    `incremental` marks a weekly file; it is imported exactly like a full one (both list deactivated NPIs
    explicitly, so nothing is inferred from an NPI's absence). Raises NppesFormatError, before writing anything,
    for a file that is not an NPPES main file; a bad row is reported and skipped.
    On PostgreSQL, a load into an empty directory sets the directory tables' keys, indexes and foreign keys aside,
    COPYs each batch straight into the tables, and builds them at the end (see set_aside_for_first_load).
    """
    path = Path(path)
    result = ImportResult(report_path=Path(report) if report else default_report_path(path), incremental=incremental)
    postgres = connection.vendor == "postgresql"
    use_jemalloc()
    repaired = 0
    with open_nppes(path) as (raw, total):
        header = raw.readline()
        # A stray byte must not stop a 9 GB import: it becomes U+FFFD in that one value.
        columns = Columns.from_header(next(csv.reader([header.decode("utf-8-sig", errors="replace")]), None))
        known_codes = Taxonomy.objects.codes()
        row_parser = RowParser(columns, known_codes)
        parsers = (row_parser, ColumnParser(row_parser))
        with result.report_path.open("w", encoding="utf-8", newline="") as report_file:
            skipped = csv.writer(report_file)
            skipped.writerow(["line", "npi", "reason"])
            if postgres:
                # A first load that was killed left keys, indexes and foreign keys aside.
                repaired = restore_set_aside()
                result.first_load = not Provider.objects.exists()
                create_staging_table()
            set_aside = set_aside_for_first_load() if result.first_load else []
            try:
                batches = parse_batches(raw, len(header), parsers, skipped, batch_size, result)
                if result.first_load:
                    batches = first_load_batches(batches)
                    write = write_first_load_batch
                else:  # the batch becomes Python objects only when its turn comes: a fraction of the memory
                    write = partial(write_rows, postgres=postgres)
                with closing(in_background(batches)) as batches:
                    for batch, bytes_read in batches:
                        created, updated, deactivated = write(batch)
                        result.created += created
                        result.updated += updated
                        result.deactivated += deactivated
                        result.batches += 1
                        if progress:
                            progress(bytes_read, total, result.rows)
            except BaseException:
                # The batches written so far stay, search entries included; with the database gone too, the next
                # import finds what is still aside and builds it.
                with suppress(DatabaseError):
                    if postgres:
                        drop_staging_table()
                    restore_set_aside(set_aside, concurrently=True)
                raise
    if progress:
        progress(total, total, result.rows)
    if postgres:
        drop_staging_table()
    if result.first_load:
        if progress:
            progress(total, total, result.rows, note="first load: building the indexes and foreign keys")
        started = time.monotonic()
        restore_set_aside(set_aside, concurrently=True, analyze=True)
        result.rebuild_seconds = time.monotonic() - started
    elif repaired:
        search_index.refresh()
    invalidate("directory")  # rows were written in bulk, without the signals that invalidate cached profiles
    return result


def use_jemalloc():
    """pyarrow's jemalloc pool rather than its default (mimalloc): a first load of a million rows measured 23 s
    and 406 MB peak RSS with it, 27.5 s and 456 MB with mimalloc (bench/RESULTS.md). Builds without it keep theirs."""
    with suppress(NotImplementedError):
        pa.set_memory_pool(pa.jemalloc_memory_pool())


def parse_batches(raw, header_bytes, parsers, skipped, batch_size, result):
    """Yield (Rows, bytes read so far) a batch at a time; write the rows that cannot be imported to `skipped`.

    The file is read in chunks of whole records (nppes_columns): pyarrow and the column checks take what they can,
    the row-by-row reader and parser the rest. Of the rows for one NPI within a chunk (a few MB) only the last is
    kept; a later chunk's row for an NPI rewrites it, as a later import would."""
    row_parser, column_parser = parsers
    line = 2  # the header is line 1
    carry = Rows.empty()

    def skip(number, row, reason):
        result.skipped += 1
        npi = row[row_parser.columns.npi] if row and len(row) > row_parser.columns.npi else ""
        skipped.writerow([number, npi, reason])

    def parse_row(number, row, numbered):
        try:
            numbered.append((number, row_parser.parse(row)))
        except BadRow as exc:
            skip(number, row, str(exc))

    with closing(in_background(read_chunks(raw, column_parser))) as chunks:
        for chunk, lines, table, read in chunks:
            numbered = []  # (line, Record) from the row-by-row parser
            if table is None:  # not one record per line, or not UTF-8: the row-by-row reader
                fast = Rows.empty()
                reader = RecordReader(
                    text_of(chunk), row_parser.columns.width, row_parser.columns.last, first_line=line
                )
                for number, row, error in reader:
                    result.rows += 1
                    if error:
                        skip(number, row, error)
                    else:
                        parse_row(number, row, numbered)
            else:
                result.rows += table.num_rows
                fast, slow = column_parser.parse(table, line)
                for number, row in slow:
                    parse_row(number, row, numbered)
            line += lines
            rows = Rows.concat([carry, fast, Rows.from_records(numbered)]).last_per_npi()
            pieces = list(rows.slices(batch_size))
            carry = pieces.pop() if pieces and len(pieces[-1]) < batch_size else Rows.empty()
            for piece in pieces:
                yield piece, header_bytes + read
    if len(carry):
        yield carry, header_bytes + read


def read_chunks(raw, column_parser):
    """(chunk, its line breaks, pyarrow's reading of it or None, bytes read so far): in a thread of its own
    (parse_batches), as pyarrow reads without holding the GIL while the next step checks the chunk before."""
    for chunk, read in record_chunks(raw):
        lines = chunk.count(b"\n")
        yield chunk, lines, column_parser.read(chunk, lines), read


def in_background(batches, ahead=2):
    """Run the `batches` generator in a thread, at most `ahead` batches in front of the consumer.

    Reading and checking rows is CPU work (in pyarrow, numpy and Python); writing a batch is mostly waiting for the
    database. In a thread, the next batch is read while the database writes the last one (psycopg, sqlite3 and
    pyarrow release the GIL while they wait or compute). The import chains a few of these, one per step; only the
    first step's thread touches the file, only the parsing step's the report, only the caller's the database.
    """
    done = object()
    handoff = queue.Queue(maxsize=ahead)
    stop = threading.Event()

    def put(item):
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def work():
        try:
            for item in batches:
                put(item)
                if stop.is_set():
                    return
            put(done)
        except BaseException as exc:  # handed to the consumer, who re-raises it
            put(exc)

    thread = threading.Thread(target=work, name="nppes-reader", daemon=True)
    # Each statement's result waits for the GIL until the parsing thread lets it go: by default after 5 ms, which
    # at a dozen statements a batch would leave the database idle for a good part of the import.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    thread.start()
    try:
        while (item := handoff.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()  # the consumer failed or stopped: let the thread finish before the file is closed
        thread.join()
        sys.setswitchinterval(interval)


SWITCH_INTERVAL = 0.0005  # seconds


def write_rows(rows, postgres):
    return write_batch(rows.records(), postgres)


def write_batch(records, postgres):
    """Write one batch in one transaction, the search entries of the providers whose rows changed included; return
    (created, updated, deactivated).

    Each step returns the NPIs whose rows it changed (on SQLite, every NPI it wrote), so an unchanged provider, most
    of a monthly re-import, costs the search index nothing. A batch of providers new to the directory (all of a
    first load's) has no entries to replace: on PostgreSQL they are written straight from the staging table."""
    with transaction.atomic():
        if postgres:
            stage(records)
        created, updated, changed = upsert_providers(records, postgres)
        fresh = updated == 0  # none of the batch's providers was in the directory: nothing of theirs to replace
        changed |= replace_specialties(records, postgres, fresh)
        changed |= replace_primary_locations(records, postgres, fresh)
        deactivated = deactivate_providers(records, postgres)
        if postgres and fresh:
            insert_search_entries()
            changed = set()
        if changed or deactivated:
            search_index.refresh(sorted(changed | deactivated))
    return created, updated, len(deactivated)


# --- PostgreSQL: COPY into a staging table, then merge set-based ---------------------------------------------------

STAGE = "nppes_stage"
STAGE_COLUMNS = (
    ("npi", "text NOT NULL"),
    ("deactivated", "boolean NOT NULL"),
    ("entity_type", "smallint"),
    *((name, "text") for name in PROVIDER_COLUMNS),
    ("sex", "text"),
    ("enumeration_date", "date"),
    ("last_updated", "date"),
    ("codes", "text"),  # space-separated: NUCC codes have no spaces, and plain text COPYs fastest
    ("primary_codes", "text"),
    ("has_location", "boolean NOT NULL"),
    *((name, "text") for name in (*LOCATION_COLUMNS, "zip5")),
    ("latitude", "double precision"),
    ("longitude", "double precision"),
)
NO_PROVIDER = (None,) * len(PROVIDER_FIELDS)
NO_LOCATION = (None,) * len(LOCATION_FIELDS)


def create_staging_table():
    columns = ", ".join(f"{name} {kind}" for name, kind in STAGE_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{STAGE}")
        cursor.execute(f"CREATE TEMPORARY TABLE {STAGE} ({columns})")
        # A batch's commit returns without waiting for its WAL to reach the disk. Should the server crash, the last
        # batches are lost as a whole (never half of one), and running the import again writes them: the same
        # promise as for an interrupted import. Only this session's commits, until drop_staging_table().
        cursor.execute("SET synchronous_commit = off")


def drop_staging_table():
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{STAGE}")
        cursor.execute("RESET synchronous_commit")


def stage(records):
    """COPY the batch into the staging table (binary COPY: the values go as typed, nothing is formatted as text)."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {STAGE}")
        # The batch is merged by probing the tables' indexes once per staged row. The planner would rather hash the
        # whole of each table, which is slower at every size we import into, and far slower while an import grows the
        # tables faster than autovacuum refreshes their statistics. These settings last until the batch commits.
        cursor.execute("SET LOCAL enable_hashjoin = off")
        cursor.execute("SET LOCAL enable_mergejoin = off")
        with cursor.copy(f"COPY {STAGE} ({', '.join(n for n, _ in STAGE_COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([kind.removesuffix(" NOT NULL") for _, kind in STAGE_COLUMNS])
            for r in records:
                has_location = r.location is not None
                copy.write_row(
                    (
                        r.npi,
                        r.deactivated,
                        *(r.provider or NO_PROVIDER),
                        " ".join(r.codes),
                        " ".join(r.primary_codes),
                        has_location,
                        *(r.location if has_location else NO_LOCATION),
                    )
                )


@cache
def _sql():
    """The statements that write a batch, built from the models so a field added later gets its default."""
    provider = Provider._meta.db_table
    imported = {"npi", "active", *PROVIDER_FIELDS}
    defaults = [f for f in Provider._meta.concrete_fields if f.attname not in imported]
    columns = ", ".join(["npi", *PROVIDER_FIELDS, "active", *(f.column for f in defaults)])
    updated = [*PROVIDER_FIELDS, "active"]
    set_updated = ", ".join(f"{c} = EXCLUDED.{c}" for c in updated)
    default_values = [f.get_db_prep_save(f.get_default(), connection) for f in defaults]
    default_marks = "".join(", %s" for _ in defaults)

    specialty = ProviderSpecialty._meta.db_table
    location = PracticeLocation._meta.db_table
    loc_imported = {"id", "provider_id", "is_primary", *LOCATION_FIELDS}
    loc_defaults = [f for f in PracticeLocation._meta.concrete_fields if f.attname not in loc_imported]
    loc_columns = ", ".join(["provider_id", "is_primary", *LOCATION_FIELDS, *(f.column for f in loc_defaults)])
    loc_default_values = [f.get_db_prep_save(f.get_default(), connection) for f in loc_defaults]
    loc_default_marks = "".join(", %s" for _ in loc_defaults)
    same_place = " AND ".join(f"l.{c} IS NOT DISTINCT FROM s.{c}" for c in LOCATION_FIELDS)
    provider_insert = (
        f"INSERT INTO {provider} ({columns}) SELECT npi, {', '.join(PROVIDER_FIELDS)}, true{default_marks} "
        f"FROM {STAGE} WHERE NOT deactivated"
    )
    specialty_insert = (
        f"INSERT INTO {specialty} (provider_id, taxonomy_id, is_primary) "
        f"SELECT s.npi, c.code, c.code = ANY (string_to_array(s.primary_codes, ' ')) "
        f"FROM {STAGE} s, unnest(string_to_array(s.codes, ' ')) AS c(code) WHERE NOT s.deactivated"
    )
    location_insert = (
        f"INSERT INTO {location} ({loc_columns}) "
        f"SELECT s.npi, true, {', '.join('s.' + c for c in LOCATION_FIELDS)}{loc_default_marks} "
        f"FROM {STAGE} s WHERE NOT s.deactivated AND s.has_location"
    )

    return {
        "defaults": default_values,
        "default_columns": [f.column for f in defaults],
        "location_defaults": loc_default_values,
        "location_default_columns": [f.column for f in loc_defaults],
        "rating_score": Provider._meta.get_field("rating_score").get_default(),
        # PostgreSQL: from the staging table.
        "pg_existing": f"SELECT count(*) FROM {STAGE} s JOIN {provider} p ON p.npi = s.npi WHERE NOT s.deactivated",
        "pg_insert": provider_insert,
        "pg_upsert": (
            f"{provider_insert} ON CONFLICT (npi) DO UPDATE SET {set_updated} "
            # An unchanged provider is not rewritten: a monthly re-import leaves no dead rows behind.
            f"WHERE ({', '.join(f'{provider}.{c}' for c in updated)}) "
            f"IS DISTINCT FROM ({', '.join(f'EXCLUDED.{c}' for c in updated)}) RETURNING npi"
        ),
        "pg_delete_specialties": (
            f"DELETE FROM {specialty} ps USING {STAGE} s WHERE ps.provider_id = s.npi AND NOT s.deactivated "
            f"AND ps.taxonomy_id <> ALL (string_to_array(s.codes, ' ')) RETURNING ps.provider_id"
        ),
        "pg_insert_specialties": specialty_insert,
        "pg_upsert_specialties": (
            f"{specialty_insert} ON CONFLICT (provider_id, taxonomy_id) DO UPDATE "
            f"SET is_primary = EXCLUDED.is_primary WHERE {specialty}.is_primary <> EXCLUDED.is_primary "
            f"RETURNING provider_id"
        ),
        # Only a changed primary location is replaced, so a re-import leaves unchanged rows (and ids) alone.
        "pg_delete_locations": (
            f"DELETE FROM {location} l USING {STAGE} s WHERE l.provider_id = s.npi AND l.is_primary "
            f"AND NOT s.deactivated AND NOT (s.has_location AND {same_place}) RETURNING l.provider_id"
        ),
        "pg_insert_locations": location_insert,
        "pg_add_missing_locations": (
            f"{location_insert} AND NOT EXISTS "
            f"(SELECT 1 FROM {location} l WHERE l.provider_id = s.npi AND l.is_primary) RETURNING provider_id"
        ),
        # What search_index.refresh() writes for these providers, read from the staging table rather than joined
        # from three: each is new, so it is active, with the default rating score (the parameter).
        "pg_insert_entries": (
            f"{search_index.INSERT_INTO}SELECT c.code, s.npi, s.latitude, s.longitude, "
            f"{search_index.position_sql('s.latitude', 's.longitude')}, %s, "
            f"c.code = ANY (string_to_array(s.primary_codes, ' ')) "
            f"FROM {STAGE} s, unnest(string_to_array(s.codes, ' ')) AS c(code) "
            f"WHERE NOT s.deactivated AND s.has_location AND s.latitude IS NOT NULL AND s.longitude IS NOT NULL"
        ),
        "pg_deactivate": (
            f"UPDATE {provider} p SET active = false FROM {STAGE} s WHERE s.deactivated AND p.npi = s.npi AND p.active "
            f"RETURNING p.npi"
        ),
        # Elsewhere (SQLite): one statement run for every row of the batch (executemany).
        "upsert": (
            f"INSERT INTO {provider} ({columns}) "
            f"VALUES (%s{', %s' * len(PROVIDER_FIELDS)}, %s{default_marks}) "
            f"ON CONFLICT (npi) DO UPDATE SET {set_updated}"
        ),
        "insert_specialty": f"INSERT INTO {specialty} (provider_id, taxonomy_id, is_primary) VALUES (%s, %s, %s)",
        "insert_location": (
            f"INSERT INTO {location} ({loc_columns}) VALUES (%s, %s{', %s' * len(LOCATION_FIELDS)}{loc_default_marks})"
        ),
    }


# --- The steps of a batch: on PostgreSQL from the staging table, elsewhere (SQLite) row by row with executemany. ---
# Django's bulk_create() would do for SQLite, but it compiles every value in Python and runs ten times slower.

CHUNK = 500  # NPIs per IN (...) list: some SQLite builds allow only 999 parameters per statement


def _chunks(items):
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def _active(records):
    return [r for r in records if not r.deactivated]


def upsert_providers(records, postgres):
    """Insert or update the batch's providers (not its deactivated NPIs); return (created, updated, changed NPIs)."""
    sql = _sql()
    active = _active(records)
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute(sql["pg_existing"])
            existing = cursor.fetchone()[0]
            if existing:
                cursor.execute(sql["pg_upsert"], sql["defaults"])
                changed = {npi for (npi,) in cursor.fetchall()}
            else:  # all new, as every batch of a first load: no conflict to look for, row by row
                cursor.execute(sql["pg_insert"], sql["defaults"])
                changed = {r.npi for r in active}
        else:
            existing = sum(Provider.objects.filter(npi__in=chunk).count() for chunk in _chunks([r.npi for r in active]))
            adapt = connection.ops.adapt_datefield_value
            cursor.executemany(
                sql["upsert"],
                [
                    (r.npi, *r.provider[:-2], adapt(r.provider[-2]), adapt(r.provider[-1]), True, *sql["defaults"])
                    for r in active
                ],
            )
            changed = {r.npi for r in active}
    return len(active) - existing, existing, changed


def replace_specialties(records, postgres, fresh=False):
    """Make each provider's specialties exactly the taxonomy codes of its row; return the NPIs whose specialties
    changed.

    `fresh`: no provider of the batch was in the directory before it, so there is nothing to replace, only to add
    (and the upsert already counted every one of them as changed)."""
    sql = _sql()
    active = _active(records)
    with connection.cursor() as cursor:
        if postgres:
            if fresh:
                cursor.execute(sql["pg_insert_specialties"])
                return set()
            cursor.execute(sql["pg_delete_specialties"])
            changed = {npi for (npi,) in cursor.fetchall()}
            cursor.execute(sql["pg_upsert_specialties"])
            return changed | {npi for (npi,) in cursor.fetchall()}
        if not fresh:
            for chunk in _chunks([r.npi for r in active]):
                ProviderSpecialty.objects.filter(provider_id__in=chunk).delete()
        cursor.executemany(
            sql["insert_specialty"],
            [(r.npi, code, code in r.primary_codes) for r in active for code in r.codes],
        )
        return {r.npi for r in active}


def replace_primary_locations(records, postgres, fresh=False):
    """Make each provider's primary practice location the one in its row (none for an address outside the US);
    return the NPIs whose location changed. `fresh` as for replace_specialties()."""
    sql = _sql()
    active = _active(records)
    with connection.cursor() as cursor:
        if postgres:
            if fresh:
                cursor.execute(sql["pg_insert_locations"], sql["location_defaults"])
                return set()
            cursor.execute(sql["pg_delete_locations"])
            changed = {npi for (npi,) in cursor.fetchall()}
            cursor.execute(sql["pg_add_missing_locations"], sql["location_defaults"])
            return changed | {npi for (npi,) in cursor.fetchall()}
        if not fresh:
            for chunk in _chunks([r.npi for r in active]):
                PracticeLocation.objects.filter(provider_id__in=chunk, is_primary=True).delete()
        cursor.executemany(
            sql["insert_location"],
            [(r.npi, True, *r.location, *sql["location_defaults"]) for r in active if r.location is not None],
        )
        return {r.npi for r in active}


def insert_search_entries():
    """The search entries of a batch of providers new to the directory, from the staging table (PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute(_sql()["pg_insert_entries"], [Provider._meta.get_field("rating_score").get_default()])


def deactivate_providers(records, postgres):
    """Take deactivated NPIs out of the directory (active=False; reviews and ratings stay); return their NPIs."""
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute(_sql()["pg_deactivate"])
            return {npi for (npi,) in cursor.fetchall()}
    deactivated = set()
    for chunk in _chunks([r.npi for r in records if r.deactivated]):
        still_active = Provider.objects.filter(npi__in=chunk, active=True)
        deactivated |= set(still_active.values_list("npi", flat=True))
        still_active.update(active=False)
    return deactivated


# --- PostgreSQL, first load: every batch COPYed straight into the bare tables ----------------------------------------


@dataclass
class FirstLoadBatch:
    """A batch of a first load, ready to COPY: CSV text per table, and the NPIs an earlier batch wrote already."""

    copies: list  # (table, columns, CSV bytes)
    replaced: list  # NPIs written by an earlier batch: their rows are deleted before this batch's go in
    deactivated: list  # NPIs written by an earlier batch and deactivated by this one
    created: int
    updated: int


class NpiSet:
    """The NPIs a first load has written, in 25 MB however many: a bit per 9-digit stem from 100000000 to
    299999999 (every NPI issued starts with 1 or 2; the last digit is the check digit), a set for any other."""

    LOW, HIGH = 100_000_000, 300_000_000

    def __init__(self):
        self.bits = np.zeros((self.HIGH - self.LOW + 7) // 8, dtype=np.uint8)
        self.others = set()

    def seen_then_add(self, npis, add):
        """For an array of distinct NPIs: a mask of those already in the set; then adds those where `add`."""
        stems = pc.cast(npis, pa.int64()).to_numpy() // 10
        inside = (stems >= self.LOW) & (stems < self.HIGH)
        offset = np.where(inside, stems - self.LOW, 0)
        byte, bit = offset >> 3, (1 << (offset & 7)).astype(np.uint8)
        seen = inside & ((self.bits[byte] & bit) != 0)
        outside = np.flatnonzero(~inside)
        for i in outside:
            seen[i] = int(stems[i]) in self.others
        np.bitwise_or.at(self.bits, byte[inside & add], bit[inside & add])
        self.others.update(int(stems[i]) for i in outside if add[i])
        return seen


def first_load_batches(batches):
    """(FirstLoadBatch, bytes read) for each (Rows, bytes read): the CSV is made here, in the parsing thread."""
    written = NpiSet()
    # In a thread of its own, after the parsing thread: making CSV mostly runs in pyarrow, without the GIL.
    with closing(in_background(batches)) as batches:
        for rows, read in batches:
            yield first_load_batch(rows, written), read


def first_load_batch(rows, written):
    sql = _sql()
    table, specialties = rows.table, rows.specialties
    npis = table.column("npi")
    deactivated = table.column("deactivated").to_numpy(zero_copy_only=False)
    active = ~deactivated
    seen = written.seen_then_add(npis, active)
    n = int(active.sum())
    keep = pa.array(active)

    providers = {"npi": pc.filter(npis, keep)}
    for name in PROVIDER_FIELDS:
        providers[name] = pc.filter(table.column(name), keep)
    providers["active"] = pa.array(np.ones(n, dtype=bool))
    for column, value in zip(sql["default_columns"], sql["defaults"], strict=True):
        providers[column] = pa.array([value] * n)

    located = active & table.column("has_location").to_numpy(zero_copy_only=False)
    where = pa.array(located)
    locations = {"provider_id": pc.filter(npis, where), "is_primary": pa.array(np.ones(int(located.sum()), bool))}
    for name in LOCATION_FIELDS:
        locations[name] = pc.filter(table.column(name), where)
    zips = zip_table()
    at_zip = zip_rows(locations["zip5"], np.ones(len(locations["zip5"]), dtype=bool))
    for name in ("latitude", "longitude"):
        locations[name] = pc.take(zips.column(f"{name}_text"), at_zip)
    for column, value in zip(sql["location_default_columns"], sql["location_defaults"], strict=True):
        locations[column] = pa.array([value] * len(locations["provider_id"]))

    row = specialties.column("row").to_numpy()
    of_active = pa.array(active[row]) if len(row) else pa.array([], pa.bool_())
    listed = {
        "provider_id": pc.take(npis, pc.filter(specialties.column("row"), of_active)),
        "taxonomy_id": pc.filter(specialties.column("code"), of_active),
        "is_primary": pc.filter(specialties.column("is_primary"), of_active),
    }

    # Search entries: each specialty of a provider with a located practice, placed as search_index places them.
    of_located = located[row] if len(row) else np.zeros(0, dtype=bool)
    entry_rows = pa.array(row[of_located])
    at_zip = zip_rows(pc.take(table.column("zip5"), entry_rows), np.ones(len(entry_rows), dtype=bool))
    entries = {
        "taxonomy_id": pc.filter(specialties.column("code"), pa.array(of_located)),
        "provider_id": pc.take(npis, entry_rows),
        **{
            name: pc.take(zips.column(f"{name}_text"), at_zip)
            for name in ("latitude", "longitude", "cell", "x", "y", "z")
        },
        "rating_score": pa.array([repr(float(sql["rating_score"]))] * len(entry_rows), pa.string()),
        "is_primary": pc.filter(specialties.column("is_primary"), pa.array(of_located)),
    }
    copies = [
        (name, list(values), _csv(values))
        for name, values in (
            (Provider._meta.db_table, providers),
            (ProviderSpecialty._meta.db_table, listed),
            (PracticeLocation._meta.db_table, locations),
            (ProviderSearchEntry._meta.db_table, entries),
        )
        if len(next(iter(values.values())))
    ]
    return FirstLoadBatch(
        copies=copies,
        replaced=pc.filter(npis, pa.array(active & seen)).to_pylist(),
        deactivated=pc.filter(npis, pa.array(deactivated & seen)).to_pylist(),
        created=int((active & ~seen).sum()),
        updated=int((active & seen).sum()),
    )


def _csv(columns):
    out = io.BytesIO()
    pacsv.write_csv(pa.table(columns), out, pacsv.WriteOptions(include_header=False))
    return out.getvalue()


def write_first_load_batch(batch):
    """Write one batch of a first load in one transaction; return (created, updated, deactivated).

    The tables have no key or index yet, so nothing is looked up: each table gets one COPY. An NPI that an earlier
    batch wrote (a file that lists it twice) has its rows deleted first; each such delete reads the whole table,
    which a file as CMS writes it, one row per NPI, never asks for."""
    with transaction.atomic(), connection.cursor() as cursor:
        if batch.replaced:
            remove_written(cursor, batch.replaced)
        for table, columns, payload in batch.copies:
            copy_csv(cursor, table, columns, payload)
        if batch.deactivated:
            cursor.execute(
                f'UPDATE "{Provider._meta.db_table}" SET active = false WHERE npi = ANY(%s)', [batch.deactivated]
            )
            cursor.execute(
                f'DELETE FROM "{ProviderSearchEntry._meta.db_table}" WHERE provider_id = ANY(%s)', [batch.deactivated]
            )
    return batch.created, batch.updated, len(batch.deactivated)


def copy_csv(cursor, table, columns, payload):
    quoted = ", ".join(f'"{c}"' for c in columns)
    with cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN (FORMAT csv)') as copy:
        copy.write(payload)


def remove_written(cursor, npis):
    """Delete what an earlier batch of this first load wrote for these NPIs (nothing else writes to the tables)."""
    for model, column, extra in (
        (ProviderSearchEntry, "provider_id", ""),
        (ProviderSpecialty, "provider_id", ""),
        (PracticeLocation, "provider_id", " AND is_primary"),
        (Provider, "npi", ""),
    ):
        cursor.execute(f'DELETE FROM "{model._meta.db_table}" WHERE "{column}" = ANY(%s){extra}', [npis])


# --- PostgreSQL, first load: keys, indexes and foreign keys after the data ------------------------------------------
# Loading millions of providers into an empty directory costs the database a fraction as much when the tables'
# keys, indexes and foreign keys are built once at the end (what pg_restore does) instead of maintained row by row
# (bench/RESULTS.md). A first load's batches are COPYed into the bare tables (write_first_load_batch), which needs
# none of them. The definitions come from the models, as `migrate` creates them, so what is rebuilt is exactly what
# was there. Nothing else writes these tables while the directory is empty.


class NotMigrated(RuntimeError):
    pass


# The tables a first load fills: the directory's, and the search entries derived from them.
DIRECTORY_TABLES = (Provider, ProviderSpecialty, PracticeLocation, ProviderSearchEntry)
# Kinds of what is set aside, in the order they are built: a foreign key needs the key it points at.
KEY, FOREIGN_KEY, INDEX = "key", "foreign key", "index"
BUILD_ORDER = {KEY: 0, FOREIGN_KEY: 1, INDEX: 2}


@cache
def _set_aside():
    """[(name, kind, table, CREATE statement)] for what a first load sets aside: the directory tables' primary keys,
    unique constraints, indexes and foreign keys, and the foreign keys of other tables that point at them (reviews),
    since a primary key cannot be dropped under them."""
    directory = {model._meta.db_table for model in DIRECTORY_TABLES}
    found = []
    with connection.schema_editor(collect_sql=True, atomic=False) as editor:
        for model in DIRECTORY_TABLES:
            table = model._meta.db_table
            sql = f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_pkey" PRIMARY KEY ("{model._meta.pk.column}")'
            found.append((f"{table}_pkey", KEY, table, sql))
            for constraint in model._meta.constraints:
                found.append((constraint.name, KEY, table, str(constraint.create_sql(model, editor))))
            editor.create_model(model)
        referring = {
            relation.related_model
            for model in DIRECTORY_TABLES
            for relation in model._meta.related_objects
            if relation.related_model not in DIRECTORY_TABLES
        }
        for model in sorted(referring, key=lambda m: m._meta.label):
            editor.create_model(model)
        statements = [str(statement) for statement in editor.deferred_sql]
    for sql in statements:
        foreign_key = r'ALTER TABLE "([^"]+)" ADD CONSTRAINT "([^"]+)" FOREIGN KEY .* REFERENCES "([^"]+)"'
        if match := re.match(foreign_key, sql):
            if match[1] in directory or match[3] in directory:
                found.append((match[2], FOREIGN_KEY, match[1], sql))
        elif (index := _index_name(sql)) and re.search(r' ON "([^"]+)"', sql)[1] in directory:
            found.append((index, INDEX, None, sql))
    return found


def _index_name(sql):
    match = re.match(r'CREATE (?:UNIQUE )?INDEX "([^"]+)"', sql)
    return match[1] if match else None


def _missing_set_aside():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'i' AND relnamespace = current_schema()::regnamespace "
            "UNION SELECT conname FROM pg_constraint WHERE connamespace = current_schema()::regnamespace"
        )
        present = {name for (name,) in cursor.fetchall()}
    return [item for item in _set_aside() if item[0] not in present]


def set_aside_for_first_load():
    """Drop the directory tables' keys, indexes and foreign keys; return them, for restore_set_aside()."""
    missing = _missing_set_aside()
    dropped = [item for item in _set_aside() if item not in missing]
    with transaction.atomic(), connection.cursor() as cursor:
        for name, kind, table, _ in sorted(dropped, key=lambda item: -BUILD_ORDER[item[1]]):
            if kind == INDEX:
                cursor.execute(f'DROP INDEX "{name}"')
            else:
                cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    return dropped


def restore_set_aside(items=None, concurrently=False, analyze=False):
    """Create whichever of `items` (by default, all that a first load sets aside) is missing; return how many.

    Called with the items a first load set aside, at its end. Called without, before every import on PostgreSQL, so
    a first load that was killed is repaired by the next run; then it refuses to run before `migrate` has, as an
    index a pending migration adds is missing too, and is the migration's to create.
    `concurrently` (outside a transaction only, which other connections could not see into): on two connections
    of their own at once. `analyze`: then fresh planner statistics for the directory tables, for the site's first
    queries rather than waiting for autovacuum.
    """
    missing = [item for item in _missing_set_aside() if items is None or item in items]
    if not missing and not analyze:
        return 0
    if items is None:
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise NotMigrated("the database has unapplied migrations: run `carepath migrate` first")
    tasks = []  # (kind, the statements that build one item, in order)
    for _, kind, table, sql in sorted(missing, key=lambda item: BUILD_ORDER[item[1]]):
        task = [sql]
        if kind == FOREIGN_KEY and items is None:
            # Set aside by a load that was killed, a foreign key did not cascade deletes since: rows whose
            # provider is gone may be left. They are the import's own rows, rebuilt from the file: delete them,
            # or the key cannot go back. (The key itself is then checked in one pass over the table.)
            column, target, target_column = re.search(r'KEY \("(\w+)"\) REFERENCES "(\w+)" \("(\w+)"\)', sql).groups()
            task.insert(
                0,
                f'DELETE FROM "{table}" t WHERE NOT EXISTS '
                f'(SELECT 1 FROM "{target}" r WHERE r."{target_column}" = t."{column}")',
            )
        tasks.append((kind, task))
    if analyze:  # after the builds, so the statistics of the indexes' expressions, if any, are taken too
        tasks += [(INDEX, [f'ANALYZE "{model._meta.db_table}"']) for model in DIRECTORY_TABLES]
    if concurrently and not connection.in_atomic_block:
        _build_concurrently(tasks)
    else:
        with connection.cursor() as cursor, _build_settings(cursor):
            for _, task in tasks:
                for sql in task:
                    cursor.execute(sql)
    return len(missing)


# Sorting a million index entries, or hashing a million keys to check a foreign key, in memory rather than in
# temporary files. For the building session only.
BUILD_SETTINGS = {"maintenance_work_mem": "256MB", "work_mem": "256MB"}


@contextmanager
def _build_settings(cursor):
    for name, value in BUILD_SETTINGS.items():
        cursor.execute(f"SET {name} = '{value}'")
    try:
        yield
    finally:
        for name in BUILD_SETTINGS:
            cursor.execute(f"RESET {name}")


def _build_concurrently(tasks):
    """Run the (kind, statements) tasks, in build order, on two threads, each with a database connection of its own.

    Building an index or checking a foreign key keeps one CPU busy, and a first load's end has nothing else to do.
    A foreign key locks both its tables against index builds and other foreign keys, so one thread starts with the
    search entries' key and indexes (a table no foreign key touches) and the other with the rest: keys, then foreign
    keys, then indexes. A thread whose share is done takes over the other's last indexes (never a key or a foreign
    key, which must wait for the keys before them). Two statements that lock the same table wait for each other,
    which costs time, never correctness."""
    entries = f'"{ProviderSearchEntry._meta.db_table}"'
    lanes = [[t for t in tasks if entries in t[1][-1]], [t for t in tasks if entries not in t[1][-1]]]
    taking = threading.Lock()
    failures = []

    def next_task(own):
        with taking:
            if lanes[own]:
                return lanes[own].pop(0)
            other = lanes[1 - own]
            return other.pop() if other and other[-1][0] == INDEX else None

    def work(own):
        try:
            with connection.cursor() as cursor, _build_settings(cursor):
                while not failures and (task := next_task(own)):
                    for sql in task[1]:
                        cursor.execute(sql)
        except BaseException as exc:  # re-raised below, in the caller's thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(own,), name=f"nppes-build-{own}") for own in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


# --- Progress on stderr ------------------------------------------------------------------------------------------


class ProgressLine:
    """A one-line progress report: percent, rows (or another unit), rate and ETA; NPPES counts bytes read.

    On a terminal the line is redrawn in place twice a second; in a log, a new line every 30 seconds."""

    def __init__(self, write, is_terminal, label="NPPES", unit="rows"):
        self.write = write
        self.is_terminal = is_terminal
        self.label, self.unit = label, unit
        self.started = self.shown = time.monotonic()
        self.finished = False

    def __call__(self, done, total, rows, note=None):
        if note:
            self.write(f"{note} ...\n")
            return
        now = time.monotonic()
        finished = done >= total
        if self.finished or (not finished and now - self.shown < (0.5 if self.is_terminal else 30)):
            return
        self.finished = finished
        self.shown = now
        elapsed = max(now - self.started, 1e-6)
        fraction = done / total if total else 1.0
        eta = elapsed * (1 - fraction) / fraction if fraction else 0
        amount = f"{done / 1e6:,.0f}/{total / 1e6:,.0f} MB  " if self.unit == "rows" else ""
        text = (
            f"{self.label} {fraction:4.0%}  {amount}{rows:,} {self.unit}  "
            f"{rows / elapsed:,.0f} {self.unit}/s  ETA {_duration(eta)}"
        )
        if self.is_terminal:
            self.write("\r" + text + ("\n" if finished else ""))
        else:
            self.write(text + "\n")


def _duration(seconds):
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
