"""Read an NPPES file a chunk at a time with pyarrow's CSV parser, and check its rows a column at a time.

Why: reading and checking a 1.2 KB row in Python costs about 40 us (bench/RESULTS.md), as much as the database
needs to store it. pyarrow's parser (C++, on every CPU) reads only the 50 or so columns the directory keeps, and
the checks below run once per column over thousands of rows.

The row-by-row reader and parser in nppes.py stay the reference, and take over wherever this module is not sure:
- a chunk that pyarrow cannot read as one record per line (a line break or a stray quote inside a value, a blank,
  truncated or broken line, bytes that are not UTF-8) is read by nppes.RecordReader instead, with the same lines;
- a row that any check below does not pass outright (a deactivated NPI, a value with spaces around it, an unknown
  taxonomy code or ZIP, a foreign address, ...) is given to nppes.RowParser, which imports it or names the reason.
So what goes in, and every reason in the report, is what the row-by-row path gives; the tests compare the two.
"""

import io
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from carepath.directory.geo import zip_centroids
from carepath.directory.models import grid_cell, unit_vector

CHUNK_BYTES = 4 << 20  # about 3,500 rows of a CMS file
LONGEST_RECORD = 64 << 20  # a "record" this long is a broken file: cut it anyway, for bounded memory

DATE_RE = r"^\d\d/\d\d/\d\d\d\d$"
SWITCHES = pa.array(["", "Y", "N", "X"])

ROW_SCHEMA = pa.schema(
    [
        ("line", pa.int64()),
        ("npi", pa.string()),
        ("deactivated", pa.bool_()),
        ("entity_type", pa.int16()),
        *((name, pa.string()) for name in ("organization_name", "last_name", "first_name", "middle_name")),
        *((name, pa.string()) for name in ("name_prefix", "name_suffix", "credential", "sex")),
        ("enumeration_date", pa.date32()),
        ("last_updated", pa.date32()),
        ("has_location", pa.bool_()),
        *((name, pa.string()) for name in ("address_line1", "address_line2", "city", "state", "phone", "zip5")),
        ("latitude", pa.float64()),
        ("longitude", pa.float64()),
    ]
)
SPECIALTY_SCHEMA = pa.schema([("row", pa.int64()), ("code", pa.string()), ("is_primary", pa.bool_())])


@dataclass
class Rows:
    """Usable rows, in file order: `table` (ROW_SCHEMA, one row per record) and `specialties` (SPECIALTY_SCHEMA,
    one row per distinct code of a record, `row` being its position in `table`)."""

    table: pa.Table
    specialties: pa.Table

    def __len__(self):
        return self.table.num_rows

    @classmethod
    def empty(cls):
        return cls(ROW_SCHEMA.empty_table(), SPECIALTY_SCHEMA.empty_table())

    @classmethod
    def from_records(cls, numbered):
        """From (line, nppes.Record) pairs, as the row-by-row parser makes them."""
        from carepath.directory.nppes import LOCATION_FIELDS, NO_LOCATION, NO_PROVIDER, PROVIDER_FIELDS

        values = {name: [] for name in ROW_SCHEMA.names}
        specialties = {"row": [], "code": [], "is_primary": []}
        for position, (line, record) in enumerate(numbered):
            values["line"].append(line)
            values["npi"].append(record.npi)
            values["deactivated"].append(record.deactivated)
            for name, value in zip(PROVIDER_FIELDS, record.provider or NO_PROVIDER, strict=True):
                values[name].append(value)
            values["has_location"].append(record.location is not None)
            for name, value in zip(LOCATION_FIELDS, record.location or NO_LOCATION, strict=True):
                values[name].append(value)
            for code in record.codes:
                specialties["row"].append(position)
                specialties["code"].append(code)
                specialties["is_primary"].append(code in record.primary_codes)
        return cls(pa.table(values, schema=ROW_SCHEMA), pa.table(specialties, schema=SPECIALTY_SCHEMA))

    def records(self):
        """The rows as nppes.Record objects, for the row-by-row writers (SQLite, and merging on PostgreSQL)."""
        from carepath.directory.nppes import LOCATION_FIELDS, PROVIDER_FIELDS, Record

        columns = {name: self.table.column(name).to_pylist() for name in ROW_SCHEMA.names}
        codes = [[] for _ in range(len(self))]
        primary = [[] for _ in range(len(self))]
        specialties = (self.specialties.column(n).to_pylist() for n in SPECIALTY_SCHEMA.names)
        for row, code, is_primary in zip(*specialties, strict=True):
            codes[row].append(code)
            if is_primary:
                primary[row].append(code)
        provider = list(zip(*(columns[name] for name in PROVIDER_FIELDS), strict=True))
        location = list(zip(*(columns[name] for name in LOCATION_FIELDS), strict=True))
        return [
            Record(npi, deactivated=True)
            if deactivated
            else Record(npi, False, provider[i], tuple(codes[i]), tuple(primary[i]), location[i] if located else None)
            for i, (npi, deactivated, located) in enumerate(
                zip(columns["npi"], columns["deactivated"], columns["has_location"], strict=True)
            )
        ]

    def last_per_npi(self):
        """Only the last row (by line) of each NPI: a later row for the same NPI replaces the earlier one."""
        npis = self.table.column("npi")
        if pc.count_distinct(npis).as_py() == len(self):
            return self
        last = {}
        for i, (npi, line) in enumerate(zip(npis.to_pylist(), self.table.column("line").to_pylist(), strict=True)):
            if npi not in last or line > last[npi][0]:
                last[npi] = (line, i)
        return self.take(np.fromiter(sorted(i for _, i in last.values()), dtype=np.int64))

    def take(self, positions):
        """The rows at these positions (ascending), with their specialties."""
        positions = np.asarray(positions, dtype=np.int64)
        new_position = np.full(len(self), -1, dtype=np.int64)
        new_position[positions] = np.arange(len(positions))
        rows = self.specialties.column("row").to_numpy()
        kept = new_position[rows] >= 0 if len(rows) else np.zeros(0, dtype=bool)
        specialties = self.specialties.filter(pa.array(kept))
        moved = new_position[rows[kept]]
        specialties = specialties.set_column(0, "row", pa.array(moved, type=pa.int64()))
        if len(moved) > 1 and np.any(moved[1:] < moved[:-1]):
            specialties = specialties.take(pa.array(np.argsort(moved, kind="stable")))
        return Rows(self.table.take(pa.array(positions)), specialties)

    def slices(self, size):
        """Consecutive pieces of at most `size` rows."""
        rows = self.specialties.column("row").to_numpy()
        for start in range(0, len(self), size):
            stop = min(start + size, len(self))
            first, last = np.searchsorted(rows, [start, stop])
            specialties = self.specialties.slice(first, last - first)
            specialties = specialties.set_column(0, "row", pa.array(rows[first:last] - start, type=pa.int64()))
            yield Rows(self.table.slice(start, stop - start), specialties)

    @staticmethod
    def concat(parts):
        """One Rows of several, in the order given (not sorted by line: the order of a batch's rows is not
        what decides which of two rows for an NPI wins, their lines are)."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return Rows.empty()
        if len(parts) == 1:
            joined = parts[0]
        else:
            offsets = np.cumsum([0, *(len(p) for p in parts[:-1])])
            specialties = [
                p.specialties.set_column(0, "row", pc.add(p.specialties.column("row"), int(offset)))
                for p, offset in zip(parts, offsets, strict=True)
            ]
            joined = Rows(pa.concat_tables([p.table for p in parts]), pa.concat_tables(specialties))
        return joined


@cache
def zip_table():
    """Every ZIP code with a centroid, and per ZIP what a practice there gets: latitude, longitude and the search
    grid's cell and unit vector, computed as search_index computes them."""
    codes, lat, lng, cell, x, y, z = [], [], [], [], [], [], []
    for code, (latitude, longitude) in zip_centroids().items():
        codes.append(code)
        lat.append(latitude)
        lng.append(longitude)
        cell.append(grid_cell(latitude, longitude))
        for axis, value in zip((x, y, z), unit_vector(latitude, longitude), strict=True):
            axis.append(value)
    # The numbers also as text (Python's repr, which reads back as the same double), for the first load's CSV:
    # writing a million doubles as text is most of what making that CSV costs.
    return pa.table(
        {
            "zip5": pa.array(codes, pa.string()),
            "latitude": pa.array(lat, pa.float64()),
            "longitude": pa.array(lng, pa.float64()),
            **{
                f"{name}_text": pa.array([repr(v) for v in values], pa.string())
                for name, values in (
                    ("latitude", lat),
                    ("longitude", lng),
                    ("cell", cell),
                    ("x", x),
                    ("y", y),
                    ("z", z),
                )
            },
        }
    )


@cache
def _zip_positions():
    """A numpy array of 100,000: a 5-digit ZIP's row in zip_table(), or -1."""
    positions = np.full(100_000, -1, dtype=np.int64)
    positions[np.array([int(code) for code in zip_table().column("zip5").to_pylist()])] = np.arange(
        zip_table().num_rows
    )
    return positions


def zip_rows(zip5, digits):
    """Each ZIP's row in zip_table() (an int64 pyarrow array, null for an unknown ZIP); `digits` marks the values
    known to be five ASCII digits (the others get null)."""
    numbers = pc.cast(pc.if_else(pa.array(digits), zip5, "00000"), pa.int64()).to_numpy()
    found = _zip_positions()[numbers]
    return pa.array(found, mask=~digits | (found < 0))


def maybe_padded(strings):
    """Where a value may start or end with what Python's str.strip() removes: a first or last byte that is a space,
    a control character or part of a non-ASCII character (a numpy boolean array; the row-by-row parser decides)."""
    n = len(strings)
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int32)[strings.offset : strings.offset + n + 1]
    data = strings.buffers()[2]
    if data is None or not len(data):
        return np.zeros(n, dtype=bool)
    data = np.frombuffer(data, dtype=np.uint8)
    filled = offsets[1:] > offsets[:-1]
    first = data[np.minimum(offsets[:-1], len(data) - 1)]
    last = data[np.maximum(offsets[1:] - 1, 0)]
    return filled & ((first <= 32) | (first >= 127) | (last <= 32) | (last >= 127))


def mask(booleans):
    """A pyarrow boolean array as a numpy one (a null, which these checks never make, as False)."""
    return booleans.fill_null(False).to_numpy(zero_copy_only=False)


def npi_check_digits_ok(npis):
    """The NPI check digit (models.npi_check_digit_ok) for a string array: a boolean numpy array."""
    n = len(npis)
    well_formed = pc.and_(pc.equal(pc.utf8_length(npis), 10), pc.ascii_is_decimal(npis)).fill_null(False)
    fixed = pc.cast(pc.if_else(well_formed, npis, "0000000000").cast(pa.binary()), pa.binary(10))
    data = np.frombuffer(fixed.buffers()[1], dtype=np.uint8)[fixed.offset * 10 : (fixed.offset + n) * 10]
    digits = data.reshape(n, 10).astype(np.int32) - 48
    doubled = digits[:, 0:9:2] * 2  # from the right, every second digit before the check digit
    doubled -= 9 * (doubled > 9)
    total = 24 + doubled.sum(axis=1) + digits[:, 1:10:2].sum(axis=1)
    return well_formed.to_numpy(zero_copy_only=False) & (total % 10 == 0)


def dates(text):
    """MM/DD/YYYY strings -> (date32 array, ok mask): ok where the value is empty (a null date) or a real date
    written with two, two and four digits; others are for the row-by-row parser."""
    text = text.fill_null("")
    empty = mask(pc.equal(text, ""))
    shaped = mask(pc.match_substring_regex(text, DATE_RE))
    padded = pc.if_else(pa.array(shaped), text, "01/01/1970")
    month = pc.cast(pc.utf8_slice_codeunits(padded, 0, 2), pa.int64()).to_numpy()
    day = pc.cast(pc.utf8_slice_codeunits(padded, 3, 5), pa.int64()).to_numpy()
    year = pc.cast(pc.utf8_slice_codeunits(padded, 6, 10), pa.int64()).to_numpy()
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(month, 0, 12)]
    month_days += (month == 2) & leap
    real = shaped & (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)
    # days since 1970-01-01 (the civil calendar, as in H. Hinnant's days_from_civil)
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    values = pa.array(np.where(real, days, 0).astype(np.int32), type=pa.date32(), mask=~real)
    return values, empty | real


class ColumnParser:
    """Parses whole chunks of records: parse(chunk, first_line) -> (Rows, [(line, row)] for the row-by-row parser).

    Built on the nppes.RowParser it hands rows to: the same columns, taxonomy codes and text limits."""

    def __init__(self, row_parser):
        self.columns = row_parser.columns
        self.names = [f"c{i}" for i in range(self.columns.width)]
        self.needed = self.columns.read
        self.convert = pacsv.ConvertOptions(
            include_columns=[self.names[i] for i in self.needed],
            column_types={self.names[i]: pa.string() for i in self.needed},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        self.read_options = pacsv.ReadOptions(column_names=self.names, use_threads=True, block_size=1 << 20)
        self.parse_options = pacsv.ParseOptions(newlines_in_values=False)
        self.known = pa.array(sorted(row_parser.known_codes), pa.string())
        # (position, field, longest value the column takes), sex last among the provider's
        self.provider_text = row_parser.provider_text
        self.location_text = row_parser.location_text

    def read(self, chunk, line_breaks):
        """pyarrow's reading of a chunk (with `line_breaks` b"\\n" in it), or None where it is not one record per
        physical line."""
        try:
            table = pacsv.read_csv(
                pa.py_buffer(chunk),
                read_options=self.read_options,
                parse_options=self.parse_options,
                convert_options=self.convert,
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        lines = line_breaks + (0 if chunk.endswith(b"\n") else 1)
        return table.combine_chunks() if table.num_rows == lines else None

    def parse(self, table, first_line):
        """Rows for the records every check passes; [(line, row list)] for the others (nppes.RowParser's)."""
        c = self.columns
        n = table.num_rows

        def col(position):
            return table.column(self.names[position]).chunk(0) if n else pa.array([], pa.string())

        ok = npi_check_digits_ok(col(c.npi))
        ok &= mask(pc.equal(col(c.deactivation_date), ""))
        entity = col(c.entity_type)
        individual = mask(pc.equal(entity, "1"))
        ok &= individual | mask(pc.equal(entity, "2"))
        for position, _, longest in (*self.provider_text, *self.location_text):
            value = col(position)
            ok &= mask(pc.less_equal(pc.utf8_length(value), longest))
            ok &= ~maybe_padded(value)
        named = mask(pc.not_equal(col(c.provider[1]), ""))  # last name
        organization_named = mask(pc.not_equal(col(c.provider[0]), ""))
        ok &= np.where(individual, named, organization_named)
        enumerated, enumerated_ok = dates(col(c.enumeration_date))
        updated, updated_ok = dates(col(c.last_updated))
        ok &= enumerated_ok & updated_ok
        country = col(c.country_code)
        ok &= mask(pc.equal(country, "")) | mask(pc.equal(country, "US"))
        postal = col(c.postal_code)
        length = pc.utf8_length(postal)
        digits = (mask(pc.equal(length, 5)) | mask(pc.equal(length, 9))) & mask(pc.ascii_is_decimal(postal))
        zips = zip_table()
        zip5 = pc.utf8_slice_codeunits(postal, 0, 5)
        at_zip = zip_rows(zip5, digits)
        ok &= mask(at_zip.is_valid())
        # The 15 taxonomy slots as one array each for codes and switches, slot after slot: a slot's rows are
        # codes[slot * n : (slot + 1) * n].
        slots = len(c.taxonomies)
        codes = pa.concat_arrays([col(code_at) for code_at, _ in c.taxonomies])
        switches = pa.concat_arrays([col(switch_at) for _, switch_at in c.taxonomies])
        present = ~mask(pc.equal(codes, ""))
        ok &= (~present | mask(pc.is_in(codes, value_set=self.known))).reshape(slots, n).all(axis=0)
        ok &= mask(pc.is_in(switches, value_set=SWITCHES)).reshape(slots, n).all(axis=0)

        lines = np.arange(first_line, first_line + n, dtype=np.int64)
        slow = np.flatnonzero(~ok)
        rows = self._rows(col, ok, lines, entity, enumerated, updated, zip5, at_zip, zips)
        rows.specialties = self._specialties(codes, switches, present, ok)
        return rows, self._row_lists(table, slow, lines)

    def _rows(self, col, ok, lines, entity, enumerated, updated, zip5, at_zip, zips):
        c = self.columns
        keep = pa.array(ok)
        n = int(ok.sum())
        at_zip = pc.filter(at_zip, keep)
        values = {
            "line": pa.array(lines[ok]),
            "npi": pc.filter(col(c.npi), keep),
            "deactivated": pa.array(np.zeros(n, dtype=bool)),
            "entity_type": pc.cast(pc.filter(entity, keep), pa.int16()),
        }
        for position, name, _ in self.provider_text:
            values[name] = pc.filter(col(position), keep)
        values["enumeration_date"] = pc.filter(enumerated, keep)
        values["last_updated"] = pc.filter(updated, keep)
        values["has_location"] = pa.array(np.ones(n, dtype=bool))
        for position, name, _ in self.location_text:
            values[name] = pc.filter(col(position), keep)
        values["zip5"] = pc.filter(zip5, keep)
        values["latitude"] = pc.take(zips.column("latitude"), at_zip)
        values["longitude"] = pc.take(zips.column("longitude"), at_zip)
        rows = pa.table({name: values[name] for name in ROW_SCHEMA.names}, schema=ROW_SCHEMA)
        return Rows(rows, SPECIALTY_SCHEMA.empty_table())

    def _specialties(self, codes, switches, present, ok):
        """One row per distinct code of each record kept (`ok`), with its primary flag, as RowParser decides them.
        `codes`, `switches` and `present` hold the taxonomy slots one after another (see parse)."""
        n = len(ok)
        kept = int(ok.sum())
        at = np.flatnonzero(present & np.tile(ok, len(self.columns.taxonomies)))
        if not len(at):
            return SPECIALTY_SCHEMA.empty_table()
        position = np.cumsum(ok) - 1  # a kept record's row in Rows
        at_arrow = pa.array(at)
        long = pa.table(
            {
                "row": pa.array(position[at % n]),
                "code": pc.take(codes, at_arrow),
                "slot": pa.array(at // n),
                "y": pc.equal(pc.take(switches, at_arrow), "Y"),
            }
        )
        # the same code recurs with each state licence: once per record, first slot first, primary if any slot says so
        distinct = long.group_by(["row", "code"], use_threads=False).aggregate([("slot", "min"), ("y", "any")])
        distinct = distinct.sort_by([("row", "ascending"), ("slot_min", "ascending")])
        rows = distinct.column("row").to_numpy()
        marked = distinct.column("y_any").to_numpy(zero_copy_only=False)
        per_row = np.bincount(rows, minlength=kept)
        any_marked = np.bincount(rows, weights=marked, minlength=kept) > 0
        # an only specialty is the primary one when no switch says so (older records leave it unanswered)
        primary = marked | ((per_row[rows] == 1) & ~any_marked[rows])
        return pa.table(
            {"row": pa.array(rows), "code": distinct.column("code"), "is_primary": pa.array(primary)},
            schema=SPECIALTY_SCHEMA,
        )

    def _row_lists(self, table, positions, lines):
        """The records at these positions as rows (lists of the header's width) for nppes.RowParser."""
        if not len(positions):
            return []
        subset = table.take(pa.array(positions))
        columns = {i: subset.column(self.names[i]).to_pylist() for i in self.needed}
        found = []
        for k, position in enumerate(positions):
            row = [""] * self.columns.width
            for i, values in columns.items():
                row[i] = values[k]
            found.append((int(lines[position]), row))
        return found


def record_chunks(raw, size=None):
    """Yield chunks of the byte stream `raw` that end after a line break outside any quoted value (or at the end of
    the file), with the number of bytes read so far. A chunk with no such line break within LONGEST_RECORD is cut
    at its last line break anyway: the rows there are broken, and the row-by-row reader reports them."""
    size = size or CHUNK_BYTES
    pending = b""
    consumed = 0
    while True:
        data = raw.read(size)
        if not data:
            if pending:
                yield pending, consumed + len(pending)
            return
        buffer = pending + data if pending else data
        cut = record_end(buffer)
        if cut is None:
            if len(buffer) < LONGEST_RECORD:
                pending = buffer
                continue
            cut = buffer.rfind(b"\n") + 1 or len(buffer)
        consumed += cut
        pending = buffer[cut:]
        yield buffer[:cut], consumed


def record_end(buffer):
    """The position just after the last line break of `buffer` that is outside quotes, or None.

    In CSV a quote inside a quoted value is doubled, so a line break is outside quotes exactly when the quotes before
    it are even in number."""
    end = buffer.rfind(b"\n") + 1
    if not end:
        return None
    quotes = buffer.count(b'"', 0, end)
    while end:
        if quotes % 2 == 0:
            return end
        earlier = buffer.rfind(b"\n", 0, end - 1) + 1
        quotes -= buffer.count(b'"', earlier, end)
        end = earlier
    return None


def text_of(chunk):
    """A chunk as text for nppes.RecordReader, stray bytes replaced as the row-by-row path does."""
    return io.TextIOWrapper(io.BytesIO(chunk), encoding="utf-8", errors="replace", newline="")
