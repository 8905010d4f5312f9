"""The column-at-a-time reading of NPPES files (nppes_columns) against the row-by-row reader and parser it stands in
for: the same rows go in, the same rows are reported with the same lines and reasons, on files written here with
every kind of row the checks hand over to the row-by-row parser."""

import csv
import io
import random
import sys
from datetime import date

import pyarrow as pa
import pytest
import zipcodes

from carepath.directory import nppes, nppes_columns
from carepath.directory.geo import zip_centroids
from carepath.directory.models import Provider, ProviderSearchEntry, npi_check_digit_ok
from carepath.directory.tests.test_nppes import (
    BAD_CHECK_DIGIT,
    NOT_LOADED,
    NPI,
    ORTHO,
    RHEUM,
    deactivated,
    empty_directory,
    luhn_npi,
    nppes_row,
    nppes_text,
    organization,
    report_rows,
    run,
    snapshot,
    write,
)

pytestmark = pytest.mark.django_db

POSTAL = "Provider Business Practice Location Address Postal Code"
COUNTRY = "Provider Business Practice Location Address Country Code (If outside U.S.)"
LAST = "Provider Last Name (Legal Name)"


def tricky_rows():
    """Rows that the column checks pass, and rows each check hands to the row-by-row parser (where it imports them or
    names the reason)."""
    npi = [luhn_npi(f"16666{n:04d}") for n in range(60)]
    rows = [
        nppes_row(npi[0]),
        organization(npi[1]),
        nppes_row(npi[2], **{LAST: " OKAFOR "}),  # padded: stripped by the row parser
        nppes_row(npi[3], **{LAST: "OKAFOR\u00a0"}),  # a no-break space at the end
        nppes_row(npi[4], **{LAST: "NÚÑEZ"}),  # non-ASCII at an edge
        nppes_row(npi[5], **{COUNTRY: "us"}),
        nppes_row(npi[6], **{COUNTRY: ""}),
        nppes_row(npi[7], **{"Provider Enumeration Date": "04/31/2020"}),  # no such day
        nppes_row(npi[8], **{"Provider Enumeration Date": "1/2/2003"}),  # one digit for month and day
        nppes_row(npi[9], **{"Last Update Date": "02/29/2024"}),
        nppes_row(npi[10], **{"Last Update Date": "02/29/2023"}),
        nppes_row(npi[11], **{POSTAL: "00000"}),  # not a ZIP
        nppes_row(npi[12], **{POSTAL: "0213A"}),
        nppes_row(npi[13], **{POSTAL: "\u0661\u0662\u0663\u0664\u0665"}),  # digits, but not ASCII ones
        nppes_row(npi[14], **{POSTAL: " 02139"}),
        nppes_row(npi[15], **{"Healthcare Provider Taxonomy Code_1": ORTHO + " "}),
        nppes_row(npi[16], **{"Healthcare Provider Taxonomy Code_2": NOT_LOADED}),
        nppes_row(npi[17], **{"Healthcare Provider Primary Taxonomy Switch_1": "y"}),
        nppes_row(  # the same code twice, marked primary in its second slot only
            npi[18],
            **{
                "Healthcare Provider Primary Taxonomy Switch_1": "N",
                "Healthcare Provider Taxonomy Code_2": RHEUM,
                "Healthcare Provider Primary Taxonomy Switch_2": "N",
                "Healthcare Provider Taxonomy Code_3": ORTHO,
                "Healthcare Provider Primary Taxonomy Switch_3": "Y",
            },
        ),
        nppes_row(  # two codes, neither marked: neither is primary
            npi[19],
            **{
                "Healthcare Provider Primary Taxonomy Switch_1": "",
                "Healthcare Provider Taxonomy Code_2": RHEUM,
            },
        ),
        nppes_row(npi[20], **{"Healthcare Provider Taxonomy Code_15": RHEUM}),  # the last slot
        nppes_row(npi[21], **{"Entity Type Code": " 1"}),
        nppes_row(npi[22], **{"Entity Type Code": "3"}),
        nppes_row(" " + npi[23]),
        nppes_row(BAD_CHECK_DIGIT),
        nppes_row(npi[24], **{COUNTRY: "DE", POSTAL: "80331"}),
        nppes_row(npi[25], **{"Provider Name Prefix Text": "X" * 21}),
        deactivated(npi[26]),
        nppes_row(npi[27], **{"NPI Deactivation Date": "01/15/2025", "NPI Reactivation Date": "02/20/2025"}),
        nppes_row(npi[28]),
        nppes_row(npi[28], **{LAST: "LATER"}),  # a later row for the same NPI wins
        nppes_row(npi[29], **{"NPI Reactivation Date": "garbage"}),  # read only for a deactivated NPI
        organization(npi[30], **{"Provider Organization Name (Legal Business Name)": "   "}),
        nppes_row(npi[31], **{"Provider Credential Text": "M.D.\x1f"}),  # a control character at the end
        nppes_row(npi[32], **{"Provider Second Line Business Practice Location Address": 'SUITE "B", 2ND FLOOR'}),
        # an only code is primary when its switch is unanswered or "N"
        nppes_row(npi[33], **{"Healthcare Provider Primary Taxonomy Switch_1": "X"}),
        organization(npi[34], **{"Healthcare Provider Primary Taxonomy Switch_1": ""}),
    ]
    return [npi[i] for i in range(35)] + [BAD_CHECK_DIGIT], rows


def import_each_way(tmp_path, monkeypatch, path, into_empty):
    """Import `path` column-at-a-time, then again with every chunk read row by row; return both (summary, report,
    snapshot) and the NPIs."""
    npis, _ = tricky_rows()
    results = []
    taken = []  # rows the column checks passed, in the first import
    real_parse = nppes_columns.ColumnParser.parse

    def counting(self, table, first_line):
        rows, slow = real_parse(self, table, first_line)
        taken.append(len(rows))
        return rows, slow

    monkeypatch.setattr(nppes_columns.ColumnParser, "parse", counting)
    for way in ("columns", "rows"):
        if into_empty:
            empty_directory()
        else:
            Provider.objects.filter(npi__in=npis).delete()
        if way == "rows":
            monkeypatch.setattr(nppes_columns.ColumnParser, "read", lambda self, chunk, line_breaks: None)
        out, _ = run(path, "--batch-size", "7")
        report = [(r["line"], r["npi"], r["reason"]) for r in report_rows(path.with_name(f"{path.stem}.errors.csv"))]
        results.append((out.strip(), report, snapshot(npis)))
    # Most rows went the column way in the first import, none in the second.
    assert sum(taken) == 14
    return results


@pytest.mark.parametrize("into_empty", [True, False], ids=["an empty directory", "the directory"])
def test_the_column_checks_import_and_report_what_the_row_parser_does(tmp_path, monkeypatch, into_empty):
    _, rows = tricky_rows()
    path = write(tmp_path, rows)
    (columns_out, columns_report, columns_written), rows_result = import_each_way(
        tmp_path, monkeypatch, path, into_empty
    )
    assert (columns_out, columns_report, columns_written) == rows_result
    assert columns_out.startswith(f"{len(rows)} rows read")
    # The reasons are the row parser's, for the rows it was given by the checks.
    reasons = {npi: reason for _, npi, reason in columns_report}
    assert "is not a MM/DD/YYYY date" in reasons[tricky_rows()[0][7]]
    assert "is not a US ZIP code" in reasons[tricky_rows()[0][13]]
    assert len(columns_report) == 10
    providers = {row[0]: row for row in columns_written[0]}
    assert providers[tricky_rows()[0][2]][2] == "OKAFOR" and providers[tricky_rows()[0][28]][2] == "LATER"


def test_a_first_load_that_lists_an_npi_again_in_a_later_batch_keeps_its_last_row(tmp_path, monkeypatch):
    # Within a chunk of the file only an NPI's last row is kept; with chunks of about a record, each row is a batch.
    monkeypatch.setattr(nppes_columns, "CHUNK_BYTES", 1000)
    moved = {POSTAL: "10001", "Provider Business Practice Location Address City Name": "NEW YORK", LAST: "MOVED"}
    rows = [
        nppes_row(NPI[0], **{"Healthcare Provider Taxonomy Code_2": RHEUM}),
        organization(NPI[1]),
        nppes_row(NPI[2]),
        nppes_row(NPI[0], **moved),  # in a later batch: replaces all that the first row wrote
        deactivated(NPI[1]),  # likewise: out of the directory
        deactivated(NPI[3]),  # never listed: nothing to do
    ]
    path = write(tmp_path, rows)
    empty_directory()
    out, _ = run(path, "--batch-size", "1")
    assert "6 rows read: 3 providers created, 1 updated, 1 deactivated, 0 rows skipped" in out
    first_load = snapshot(NPI[:4])
    assert [(p[0], p[2], p[4]) for p in first_load[0]] == [
        (NPI[0], "MOVED", True),
        (NPI[1], "", False),
        (NPI[2], "OKAFOR", True),
    ]
    assert [s[:2] for s in first_load[1]] == [(NPI[0], ORTHO), (NPI[1], "208100000X"), (NPI[2], ORTHO)]
    assert [(loc[0], loc[5]) for loc in first_load[2]] == [(NPI[0], "10001"), (NPI[1], "60601"), (NPI[2], "02139")]
    assert not ProviderSearchEntry.objects.filter(provider_id=NPI[1]).exists()

    Provider.objects.filter(npi__in=NPI[:4]).delete()  # the same file into a directory that has providers
    run(path, "--batch-size", "1")
    assert snapshot(NPI[:4]) == first_load


def test_chunks_end_after_whole_records_and_a_small_chunk_size_changes_nothing(tmp_path, monkeypatch):
    _, rows = tricky_rows()
    rows[3]["Provider Second Line Business Practice Location Address"] = "FLOOR 2\r\nBACK ENTRANCE"  # two lines
    rows[9]["Provider First Line Business Practice Location Address"] = '1 "MAIN"\nST'
    text = nppes_text(rows)
    data = text.encode()
    chunks = [chunk for chunk, _ in nppes_columns.record_chunks(io.BytesIO(data), size=1000)]
    assert b"".join(chunks) == data
    for chunk in chunks:  # each chunk holds whole records: the csv module reads it alone, to the same fields
        assert chunk.endswith(b"\n")
        assert chunk.count(b'"') % 2 == 0
    parsed = [row for chunk in chunks for row in csv.reader(io.StringIO(chunk.decode(), newline=""))]
    assert parsed == list(csv.reader(io.StringIO(text, newline="")))

    path = write(tmp_path, rows)
    out, _ = run(path)
    expected = (out, report_rows(path.with_name(f"{path.stem}.errors.csv")), snapshot(tricky_rows()[0]))
    monkeypatch.setattr(nppes_columns, "CHUNK_BYTES", 1500)  # about one record a chunk
    Provider.objects.filter(npi__in=tricky_rows()[0]).delete()
    out, _ = run(path)
    assert (out, report_rows(path.with_name(f"{path.stem}.errors.csv")), snapshot(tricky_rows()[0])) == expected
    # the two-line records start on their own lines, and the lines after them are counted right
    lines = {r["npi"]: int(r["line"]) for r in report_rows(path.with_name(f"{path.stem}.errors.csv"))}
    assert lines[tricky_rows()[0][10]] == 14  # line 1 is the header; two rows before this one have two lines


def test_a_record_with_no_line_break_outside_quotes_is_cut_at_the_longest_record(monkeypatch):
    monkeypatch.setattr(nppes_columns, "LONGEST_RECORD", 64)
    data = b'"a","b\n' + b"c,d\n" * 40  # a stray quote: every line break after it looks inside quotes
    chunks = [chunk for chunk, _ in nppes_columns.record_chunks(io.BytesIO(data), size=16)]
    assert b"".join(chunks) == data
    assert max(len(chunk) for chunk in chunks) <= 64 + 16


def test_the_npi_check_digit_of_an_array_is_the_one_of_each_npi():
    rng = random.Random(7)
    values = [luhn_npi(f"{rng.randrange(10**8, 3 * 10**8):09d}") for _ in range(300)]
    values += [f"{rng.randrange(10**10):010d}" for _ in range(300)]  # mostly wrong
    values += ["", "123456789", "12345678901", "12345a7893", " 234567893", "\u0661" * 10, "1234567893"]
    got = nppes_columns.npi_check_digits_ok(pa.array(values, pa.string()))
    assert got.tolist() == [npi_check_digit_ok(v) for v in values]
    assert 300 <= sum(got) < 400


def test_dates_are_what_the_row_parser_reads_or_left_to_it():
    parser = nppes.RowParser.__new__(nppes.RowParser)
    parser.dates = {}
    texts = ["", "05/23/2005", "02/29/2024", "02/29/2023", "02/29/1900", "02/29/2000", "04/31/2020", "12/31/9999"]
    texts += ["13/01/2020", "00/10/2020", "01/00/2020", "01/01/0000", "1/2/2003", "2005-05-23", "05/23/05"]
    texts += ["ab/cd/efgh"]
    values, ok = nppes_columns.dates(pa.array(texts, pa.string()))
    for text, value, fine in zip(texts, values.to_pylist(), ok.tolist(), strict=True):
        try:
            expected = parser.date(text, "a date")
        except nppes.BadRow:
            expected = "bad"
        if fine:
            assert value == expected, text
        else:
            assert text in ("1/2/2003", "05/23/05") or expected == "bad", text
    assert values.to_pylist()[1] == date(2005, 5, 23)
    assert ok.tolist()[:3] == [True, True, True] and not ok.tolist()[3]


def test_a_value_that_strip_would_change_is_left_to_the_row_parser():
    spaces = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    values = [f"a{s}" for s in spaces] + [f"{s}a" for s in spaces] + ["a b", "ab", "", "É"]
    flagged = nppes_columns.maybe_padded(pa.array(values, pa.string()))
    assert flagged[: 2 * len(spaces)].all()
    assert flagged[-4:].tolist() == [False, False, False, True]  # "É": not ASCII, so not decided here


def test_the_zip_index_holds_every_zip_that_zipcodes_places():
    expected = {z["zip_code"] for z in zipcodes.list_all() if z.get("lat") and z.get("long")}
    assert set(zip_centroids()) == expected
    table = nppes_columns.zip_table()
    assert table.num_rows == len(expected)
    found = nppes_columns.zip_rows(pa.array(["02139", "00000", "99999", "60601"]), pa.array([True] * 4).to_numpy(False))
    assert found.is_valid().to_pylist() == ["02139" in expected, False, "99999" in expected, True]


def test_bytes_that_are_not_utf8_and_a_byte_order_mark_stop_nothing(tmp_path):
    rows = [nppes_row(NPI[10]), nppes_row(NPI[11], **{LAST: "OKAFOR@"}), organization(NPI[12])]
    data = nppes_text(rows).encode().replace(b"OKAFOR@", b"OKAFOR\xff")  # a stray byte in one value
    path = tmp_path / "npidata_pfile_20050523-20250608.csv"
    path.write_bytes(b"\xef\xbb\xbf" + data)  # and the file starts with a byte order mark
    Provider.objects.filter(npi__in=NPI[10:13]).delete()
    out, _ = run(path)
    assert "3 rows read: 3 providers created, 0 updated, 0 deactivated, 0 rows skipped" in out
    assert Provider.objects.get(npi=NPI[11]).last_name == "OKAFOR\ufffd"  # the byte alone is replaced
    assert Provider.objects.get(npi=NPI[12]).organization_name == "CHARLES RIVER REHAB LLC"
