"""The NPPES importer on small files written here in the real format: the 330-column header CMS ships, every value
quoted, CRLF line ends, MM/DD/YYYY dates, 9-digit ZIPs."""

import csv
import io
import threading
import zipfile
from contextlib import contextmanager
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, OperationalError, connection, transaction

from carepath.directory import nppes, search_index
from carepath.directory.models import (
    PracticeLocation,
    Provider,
    ProviderReview,
    ProviderSearchEntry,
    ProviderSpecialty,
)

pytestmark = pytest.mark.django_db

HEADER_CSV = Path(nppes.__file__).parent / "data" / "nppes_header.csv"
HEADER = next(csv.reader(HEADER_CSV.open(encoding="utf-8", newline="")))

ORTHO, RHEUM, NEURO = "207X00000X", "207RR0500X", "2084N0400X"  # shipped with the project (migration 0002)
NOT_LOADED = "390200000X"  # a real NUCC code (Student in an Organized Health Care Education Program), not loaded here


def luhn_npi(stem):
    """A valid NPI from a 9-digit stem: Luhn over '80840' + stem + check digit, computed here independently."""
    total = 0
    for i, d in enumerate(int(c) for c in reversed("80840" + stem)):
        if i % 2 == 0:  # doubled: the check digit will sit to the right of these
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return stem + str((10 - total % 10) % 10)


# A block of NPIs no other test or the demo directory uses.
NPI = [luhn_npi(f"17777{n:04d}") for n in range(40)]
BAD_CHECK_DIGIT = NPI[39][:9] + str((int(NPI[39][9]) + 1) % 10)


def nppes_row(npi, **fields):
    """One row as a dict: an individual orthopaedic surgeon in Cambridge, MA, unless fields say otherwise."""
    row = {
        "NPI": npi,
        "Entity Type Code": "1",
        "Provider Last Name (Legal Name)": "OKAFOR",
        "Provider First Name": "ADA",
        "Provider Middle Name": "N",
        "Provider Name Prefix Text": "DR.",
        "Provider Name Suffix Text": "",
        "Provider Credential Text": "M.D.",
        "Provider Gender Code": "F",
        "Provider First Line Business Practice Location Address": "1 MAIN ST",
        "Provider Second Line Business Practice Location Address": "SUITE 200",
        "Provider Business Practice Location Address City Name": "CAMBRIDGE",
        "Provider Business Practice Location Address State Name": "MA",
        "Provider Business Practice Location Address Postal Code": "021391234",
        "Provider Business Practice Location Address Country Code (If outside U.S.)": "US",
        "Provider Business Practice Location Address Telephone Number": "6175550100",
        "Provider First Line Business Mailing Address": "PO BOX 9",
        "Provider Business Mailing Address Postal Code": "021399999",
        "Provider Enumeration Date": "05/23/2005",
        "Last Update Date": "07/08/2024",
        "Healthcare Provider Taxonomy Code_1": ORTHO,
        "Provider License Number_1": "12345",
        "Provider License Number State Code_1": "MA",
        "Healthcare Provider Primary Taxonomy Switch_1": "Y",
        "Is Sole Proprietor": "N",
    }
    row.update(fields)
    return row


def organization(npi, **fields):
    return nppes_row(
        npi,
        **{
            "Entity Type Code": "2",
            "Provider Organization Name (Legal Business Name)": "CHARLES RIVER REHAB LLC",
            "Provider Last Name (Legal Name)": "",
            "Provider First Name": "",
            "Provider Middle Name": "",
            "Provider Name Prefix Text": "",
            "Provider Credential Text": "",
            "Provider Gender Code": "",
            "Provider Business Practice Location Address Postal Code": "60601",
            "Provider Business Practice Location Address City Name": "CHICAGO",
            "Provider Business Practice Location Address State Name": "IL",
            "Healthcare Provider Taxonomy Code_1": "208100000X",
            **fields,
        },
    )


def deactivated(npi, on="03/01/2025"):
    """What the file keeps of a deactivated NPI: the number and the date, nothing else."""
    return {"NPI": npi, "NPI Deactivation Date": on}


def nppes_text(rows, header=HEADER, cut_last_row_at=None):
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        unknown = set(row) - set(header)
        assert not unknown, f"not NPPES columns: {unknown}"
        writer.writerow([row.get(name, "") for name in header])
    text = out.getvalue()
    if cut_last_row_at is not None:  # a download that stopped in the middle of the last row
        last_row_start = text.rstrip("\r\n").rfind("\r\n") + 2
        text = text[: last_row_start + cut_last_row_at]
    return text


def write(tmp_path, rows, name="npidata_pfile_20050523-20250608.csv", **kw):
    path = tmp_path / name
    path.write_text(nppes_text(rows, **kw), encoding="utf-8", newline="")
    return path


def run(path, *args):
    out, err = StringIO(), StringIO()
    call_command("import_nppes", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def report_rows(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def snapshot(npis):
    """Everything the import writes for these NPIs, without database ids."""
    providers = list(
        Provider.objects.filter(npi__in=npis)
        .order_by("npi")
        .values_list("npi", "entity_type", "last_name", "organization_name", "active", "last_updated")
    )
    specialties = sorted(
        ProviderSpecialty.objects.filter(provider_id__in=npis).values_list("provider_id", "taxonomy_id", "is_primary")
    )
    locations = sorted(
        PracticeLocation.objects.filter(provider_id__in=npis).values_list(
            "provider_id", "is_primary", "address_line1", "city", "state", "zip5", "phone", "latitude", "longitude"
        )
    )
    entries = sorted(
        ProviderSearchEntry.objects.filter(provider_id__in=npis).values_list(
            "provider_id", "taxonomy_id", "is_primary", "latitude", "longitude"
        )
    )
    return providers, specialties, locations, entries


def schema_objects():
    """Names of the indexes and constraints on the tables the import writes."""
    with connection.cursor() as cursor:
        return sorted(
            name
            for model in nppes.DIRECTORY_TABLES
            for name in connection.introspection.get_constraints(cursor, model._meta.db_table)
        )


def empty_directory():
    """Delete every provider, the demo directory's too: on PostgreSQL the next import is then a first load."""
    Provider.objects.all().delete()
    check_pending_constraints()


def check_pending_constraints():
    """Run the foreign-key checks that writes so far left for the end of the transaction.

    PostgreSQL will not alter a table (as a first load does) with such checks pending in the same transaction. Only a
    test is in one: an import commits its own."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_imports_individuals_and_organizations_with_specialties_and_primary_location(tmp_path):
    rows = [
        nppes_row(
            NPI[0],
            **{
                "Provider Name Suffix Text": "JR.",
                "Healthcare Provider Taxonomy Code_2": RHEUM,
                "Healthcare Provider Primary Taxonomy Switch_2": "N",
                # The same code again with a licence from another state: still one specialty.
                "Healthcare Provider Taxonomy Code_3": ORTHO,
                "Provider License Number State Code_3": "NH",
                "Healthcare Provider Primary Taxonomy Switch_3": "N",
            },
        ),
        organization(NPI[1]),
    ]
    out, _ = run(write(tmp_path, rows))

    assert "2 rows read: 2 providers created, 0 updated, 0 deactivated, 0 rows skipped" in out
    ada = Provider.objects.get(npi=NPI[0])
    assert (ada.entity_type, ada.last_name, ada.first_name, ada.middle_name) == (1, "OKAFOR", "ADA", "N")
    assert (ada.name_prefix, ada.name_suffix, ada.credential, ada.sex) == ("DR.", "JR.", "M.D.", "F")
    assert (ada.enumeration_date.isoformat(), ada.last_updated.isoformat()) == ("2005-05-23", "2024-07-08")
    assert ada.active and ada.accepting_new_patients is None and ada.rating_count == 0
    assert sorted(ada.specialties.values_list("taxonomy_id", "is_primary")) == [(RHEUM, False), (ORTHO, True)]
    place = ada.locations.get()
    assert (place.is_primary, place.address_line1, place.address_line2) == (True, "1 MAIN ST", "SUITE 200")
    assert (place.city, place.state, place.zip5, place.phone) == ("CAMBRIDGE", "MA", "02139", "6175550100")
    assert (place.latitude, place.longitude) == pytest.approx((42.3647, -71.1042), abs=0.01)

    clinic = Provider.objects.get(npi=NPI[1])
    assert (clinic.entity_type, clinic.organization_name, clinic.last_name) == (2, "CHARLES RIVER REHAB LLC", "")
    assert clinic.display_name == "CHARLES RIVER REHAB LLC"
    assert list(clinic.specialties.values_list("taxonomy_id", "is_primary")) == [("208100000X", True)]
    assert clinic.locations.get().zip5 == "60601"


def test_reads_columns_by_name_in_newer_files_with_provider_sex_code(tmp_path):
    header = ["Provider Sex Code" if name == "Provider Gender Code" else name for name in HEADER]
    header.append("A Column From The Future")
    row = nppes_row(NPI[2])
    row["Provider Sex Code"] = row.pop("Provider Gender Code").replace("F", "M")
    run(write(tmp_path, [row], header=header))
    assert Provider.objects.get(npi=NPI[2]).sex == "M"


def test_an_only_specialty_is_primary_even_when_the_switch_is_unanswered(tmp_path):
    rows = [
        nppes_row(NPI[3], **{"Healthcare Provider Primary Taxonomy Switch_1": "X"}),
        nppes_row(
            NPI[4], **{"Healthcare Provider Taxonomy Code_1": "", "Healthcare Provider Primary Taxonomy Switch_1": ""}
        ),
    ]
    out, _ = run(write(tmp_path, rows))
    assert list(ProviderSpecialty.objects.filter(provider_id=NPI[3]).values_list("is_primary", flat=True)) == [True]
    # No taxonomy at all: the provider is listed (by name and place), just under no specialty.
    assert Provider.objects.get(npi=NPI[4]).specialties.count() == 0
    assert "2 providers created" in out


def test_bad_rows_are_reported_with_line_and_npi_and_skipped_whole(tmp_path):
    rows = [
        nppes_row(NPI[5]),  # line 2: fine
        nppes_row(BAD_CHECK_DIGIT),  # 3
        nppes_row(NPI[6], **{"Provider Last Name (Legal Name)": ""}),  # 4
        organization(NPI[7], **{"Provider Organization Name (Legal Business Name)": ""}),  # 5
        nppes_row(NPI[8], **{"Healthcare Provider Taxonomy Code_2": NOT_LOADED}),  # 6
        nppes_row(NPI[9], **{"Provider Business Practice Location Address Postal Code": "000001234"}),  # 7
        nppes_row(NPI[10], **{"Provider Business Practice Location Address Postal Code": "0213"}),  # 8
        nppes_row(NPI[11], **{"Provider Enumeration Date": "2005-05-23"}),  # 9
        nppes_row(NPI[12], **{"Entity Type Code": ""}),  # 10: not deactivated, yet no entity type
        nppes_row(  # 11: outside the US a postal code is not a ZIP; the provider goes in without a location
            NPI[13],
            **{
                "Provider Business Practice Location Address Country Code (If outside U.S.)": "DE",
                "Provider Business Practice Location Address State Name": "BAVARIA",
                "Provider Business Practice Location Address Postal Code": "80331",
            },
        ),
        nppes_row(NPI[14], **{"Provider Name Prefix Text": "X" * 21}),  # 12: longer than the column
        nppes_row(NPI[15]),  # 13: cut short by a truncated download
    ]
    path = write(tmp_path, rows, cut_last_row_at=400)
    out, _ = run(path)

    assert "12 rows read: 2 providers created, 0 updated, 0 deactivated, 10 rows skipped" in out
    assert f"(reasons in {tmp_path / 'npidata_pfile_20050523-20250608.errors.csv'})" in out
    report = report_rows(tmp_path / "npidata_pfile_20050523-20250608.errors.csv")
    got = [(r["line"], r["npi"], r["reason"]) for r in report]
    expected = [
        ("3", BAD_CHECK_DIGIT, "is not 10 digits with a valid check digit"),
        ("4", NPI[6], "an individual without a last name"),
        ("5", NPI[7], "an organization without an organization name"),
        ("6", NPI[8], f"taxonomy code '{NOT_LOADED}' is not in the taxonomy table"),
        ("7", NPI[9], "practice ZIP code '000001234' is not a US ZIP code"),
        ("8", NPI[10], "practice ZIP code '0213' is not a US ZIP code"),
        ("9", NPI[11], "Provider Enumeration Date '2005-05-23' is not a MM/DD/YYYY date"),
        ("10", NPI[12], "Entity Type Code '' is not 1 or 2"),
        ("12", NPI[14], "name prefix is longer than 20 characters"),
        ("13", NPI[15], "columns, the header 330 (a truncated or broken line)"),
    ]
    assert len(got) == len(expected)
    for (line, npi, reason), (want_line, want_npi, want_reason) in zip(got, expected, strict=True):
        assert (line, npi) == (want_line, want_npi) and want_reason in reason, (line, npi, reason)

    assert set(Provider.objects.filter(npi__in=NPI).values_list("npi", flat=True)) == {NPI[5], NPI[13]}
    assert not Provider.objects.get(npi=NPI[13]).locations.exists()
    # A skipped row leaves nothing behind: no specialty or location without its provider, or the other way round.
    assert set(ProviderSpecialty.objects.filter(provider_id__in=NPI).values_list("provider_id", flat=True)) == {
        NPI[5],
        NPI[13],
    }


def test_deactivated_npis_leave_the_directory_and_reactivated_ones_come_back(tmp_path):
    run(write(tmp_path, [nppes_row(NPI[16]), nppes_row(NPI[17]), organization(NPI[18])], name="full.csv"))
    kept = ProviderReview.objects.create(provider_id=NPI[16], email="a@example.org", stars=5, token="t-nppes-1")

    weekly = [
        deactivated(NPI[16]),
        deactivated(NPI[17], on="01/15/2025"),
        deactivated(NPI[19]),  # never in the directory: nothing to do, nothing created
        # Deactivated again after an old reactivation: still out.
        organization(
            NPI[18],
            **{"NPI Deactivation Date": "02/01/2025", "NPI Reactivation Date": "03/01/2020", "Entity Type Code": ""},
        ),
    ]
    out, _ = run(write(tmp_path, weekly, name="weekly.csv"), "--incremental")

    assert "4 rows read: 0 providers created, 0 updated, 3 deactivated, 0 rows skipped" in out
    assert not Provider.objects.filter(npi__in=[NPI[16], NPI[17], NPI[18]], active=True).exists()
    assert not Provider.objects.filter(npi=NPI[19]).exists()
    assert ProviderReview.objects.filter(pk=kept.pk).exists()

    # Reactivated: the row is whole again, with both dates, the reactivation after the deactivation.
    back = nppes_row(NPI[17], **{"NPI Deactivation Date": "01/15/2025", "NPI Reactivation Date": "02/20/2025"})
    out, _ = run(write(tmp_path, [back], name="weekly2.csv"), "--incremental")
    assert "0 providers created, 1 updated, 0 deactivated" in out
    assert Provider.objects.get(npi=NPI[17]).active
    assert not Provider.objects.get(npi=NPI[16]).active


def test_a_reimport_replaces_what_nppes_owns_and_keeps_reviews_rating_and_directory_fields(tmp_path):
    run(write(tmp_path, [nppes_row(NPI[20], **{"Healthcare Provider Taxonomy Code_2": RHEUM})], name="may.csv"))
    provider = Provider.objects.get(npi=NPI[20])
    for i, stars in enumerate([5, 4]):
        ProviderReview.objects.create(
            provider=provider, email=f"p{i}@example.org", stars=stars, token=f"t-nppes-r{i}", status="published"
        )
    provider.recompute_rating()
    Provider.objects.filter(npi=NPI[20]).update(accepting_new_patients=True, languages="English, Yoruba")
    other = PracticeLocation.objects.create(
        provider=provider, is_primary=False, city="SOMERVILLE", state="MA", zip5="02143"
    )

    moved = nppes_row(
        NPI[20],
        **{
            "Provider Last Name (Legal Name)": "OKAFOR-LEE",
            "Last Update Date": "06/01/2025",
            "Healthcare Provider Taxonomy Code_1": NEURO,
            "Provider Business Practice Location Address Postal Code": "10001",
            "Provider Business Practice Location Address City Name": "NEW YORK",
            "Provider Business Practice Location Address State Name": "NY",
        },
    )
    out, _ = run(write(tmp_path, [moved], name="june.csv"))

    assert "0 providers created, 1 updated" in out
    provider.refresh_from_db()
    assert (provider.last_name, provider.last_updated.isoformat()) == ("OKAFOR-LEE", "2025-06-01")
    # Rheumatology is gone from the row, so from the directory; Neurology replaced Orthopaedic Surgery as primary.
    assert list(provider.specialties.values_list("taxonomy_id", "is_primary")) == [(NEURO, True)]
    assert provider.locations.get(is_primary=True).zip5 == "10001"
    assert PracticeLocation.objects.filter(pk=other.pk).exists()  # not from the main file: not ours to remove
    assert (provider.rating_count, provider.rating_sum) == (2, 9)
    assert (provider.accepting_new_patients, provider.languages) == (True, "English, Yoruba")
    assert provider.reviews.count() == 2


def test_a_later_row_for_the_same_npi_wins(tmp_path):
    rows = [nppes_row(NPI[21]), nppes_row(NPI[21], **{"Provider Last Name (Legal Name)": "LATER"})]
    run(write(tmp_path, rows))
    assert Provider.objects.get(npi=NPI[21]).last_name == "LATER"


def test_reads_the_zip_cms_ships(tmp_path):
    archive = tmp_path / "NPPES_Data_Dissemination_June_2025.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("npidata_pfile_20050523-20250608_fileheader.csv", nppes_text([]))
        zf.writestr("npidata_pfile_20050523-20250608.csv", nppes_text([nppes_row(NPI[22]), organization(NPI[23])]))
        zf.writestr("pl_pfile_20050523-20250608.csv", '"NPI"\r\n')
        zf.writestr("NPPES_Data_Dissemination_Readme.pdf", b"%PDF")
    out, _ = run(archive)
    assert "2 rows read: 2 providers created" in out
    assert (tmp_path / "NPPES_Data_Dissemination_June_2025.errors.csv").exists()

    wrong = tmp_path / "other.zip"
    with zipfile.ZipFile(wrong, "w") as zf:
        zf.writestr("pl_pfile_20050523-20250608.csv", '"NPI"\r\n')
    with pytest.raises(CommandError, match="expected one npidata_pfile_.*csv in the zip, found 0"):
        run(wrong)


@pytest.mark.parametrize("into", ["the directory", "an empty directory"])
def test_an_interrupted_import_run_again_ends_like_an_uninterrupted_one(tmp_path, monkeypatch, into):
    if into == "an empty directory":  # on PostgreSQL, a first load: indexes and foreign keys set aside
        empty_directory()
    before = schema_objects()
    npis = NPI[24:31]
    rows = [nppes_row(npi, **{"Healthcare Provider Taxonomy Code_2": RHEUM}) for npi in npis[:5]]
    rows += [organization(npis[5]), deactivated(npis[6])]
    path = write(tmp_path, rows)
    failing = npis[3]  # in the second batch of two

    # The connection is lost after the batch's providers and specialties are written, before its locations.
    if into == "an empty directory" and connection.vendor == "postgresql":  # a first load: one COPY per table
        step, real = "copy_csv", nppes.copy_csv

        def fails_on_one_row(cursor, table, columns, payload):
            if table == PracticeLocation._meta.db_table and failing.encode() in payload:
                raise OperationalError("server closed the connection unexpectedly")
            return real(cursor, table, columns, payload)

    else:
        step, real = "replace_primary_locations", nppes.replace_primary_locations

        def fails_on_one_row(records, *args):
            changed = real(records, *args)
            if any(r.npi == failing for r in records):
                raise OperationalError("server closed the connection unexpectedly")
            return changed

    monkeypatch.setattr(nppes, step, fails_on_one_row)
    with pytest.raises(OperationalError):
        run(path, "--batch-size", "2")
    # The first batch is in, searchable; nothing of the second is (not even its providers); nothing after it.
    assert set(Provider.objects.filter(npi__in=npis).values_list("npi", flat=True)) == set(npis[:2])
    assert ProviderSpecialty.objects.filter(provider_id__in=npis[2:]).count() == 0
    assert set(ProviderSearchEntry.objects.filter(provider_id__in=npis).values_list("provider_id", flat=True)) == set(
        npis[:2]
    )
    assert schema_objects() == before

    monkeypatch.setattr(nppes, step, real)
    out, _ = run(path, "--batch-size", "2")
    assert "7 rows read: 4 providers created, 2 updated, 0 deactivated, 0 rows skipped" in out
    after_rerun = snapshot(npis)

    if into == "an empty directory":
        empty_directory()
    else:
        Provider.objects.filter(npi__in=npis).delete()
    run(path, "--batch-size", "2")
    assert snapshot(npis) == after_rerun
    assert [len(rows) for rows in after_rerun] == [6, 11, 6, 11]
    assert schema_objects() == before


def test_a_first_load_builds_indexes_and_foreign_keys_once_at_the_end(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL bulk-load technique")
    empty_directory()
    before = schema_objects()
    out, err = run(write(tmp_path, [nppes_row(NPI[32]), organization(NPI[33]), nppes_row(NPI[32])]))
    assert "3 rows read: 2 providers created, 0 updated" in out
    assert "first load: indexes and foreign keys built in" in out
    assert "first load: building the indexes and foreign keys ..." in err
    assert schema_objects() == before
    assert ProviderSpecialty.objects.filter(provider_id__in=NPI[32:34]).count() == 2

    out, _ = run(write(tmp_path, [nppes_row(NPI[34])]))
    assert "first load" not in out  # the directory has providers now


def entry_values(npis):
    """Every column of these providers' search entries but the id."""
    return sorted(
        ProviderSearchEntry.objects.filter(provider_id__in=npis).values_list(
            "taxonomy_id", "provider_id", "latitude", "longitude", "cell", "x", "y", "z", "rating_score", "is_primary"
        )
    )


@pytest.mark.parametrize("into", ["the directory", "an empty directory"])
def test_the_search_entries_of_new_providers_are_what_a_refresh_writes(tmp_path, into):
    # On PostgreSQL a batch of new providers gets its entries from the staging table, not from search_index.
    if into == "an empty directory":
        empty_directory()
    else:
        run(write(tmp_path, [nppes_row(NPI[1])], name="earlier.csv"))
    rows = [
        nppes_row(NPI[2], **{"Healthcare Provider Taxonomy Code_2": RHEUM}),  # two entries, one of them primary
        organization(NPI[3], **{"Provider Business Practice Location Address Postal Code": "997019999"}),  # Alaska
        nppes_row(  # outside the US: listed, but not near anywhere
            NPI[4],
            **{
                "Provider Business Practice Location Address Country Code (If outside U.S.)": "DE",
                "Provider Business Practice Location Address Postal Code": "80331",
            },
        ),
        deactivated(NPI[5]),
    ]
    run(write(tmp_path, rows))
    npis = NPI[2:6]
    written = entry_values(npis)
    assert [(e[0], e[1], e[9]) for e in written] == [
        (RHEUM, NPI[2], False),
        (ORTHO, NPI[2], True),
        ("208100000X", NPI[3], True),
    ]

    search_index.refresh(npis)
    assert entry_values(npis) == written


@pytest.mark.django_db(transaction=True)
def test_a_first_load_outside_a_transaction_builds_on_two_connections_at_once(tmp_path, monkeypatch):
    # What `carepath import_nppes` does: every batch commits, so other connections can build the indexes. (The other
    # tests run in a transaction, where the import builds them one after another on its own connection.) Like every
    # transactional test, it runs after the others and empties the database at its end.
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL bulk-load technique")
    empty_directory()
    before = schema_objects()
    builders = set()
    real = nppes._build_settings

    @contextmanager
    def noting_the_thread(cursor):
        builders.add(threading.current_thread().name)
        with real(cursor):
            yield

    monkeypatch.setattr(nppes, "_build_settings", noting_the_thread)
    out, _ = run(write(tmp_path, [nppes_row(NPI[38], **{"Healthcare Provider Taxonomy Code_2": RHEUM})]))
    assert "1 providers created" in out and "first load: indexes and foreign keys built in" in out
    assert builders == {"nppes-build-0", "nppes-build-1"}
    assert schema_objects() == before
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated "
            "AND conrelid::regclass::text LIKE 'directory_%%'"
        )
        assert cursor.fetchone()[0] == 0
    assert len(entry_values([NPI[38]])) == 2
    # The foreign keys are back, and enforced.
    with pytest.raises(IntegrityError), transaction.atomic():
        ProviderSpecialty.objects.create(provider_id=NPI[39], taxonomy_id=ORTHO)
        check_pending_constraints()


def test_what_a_killed_first_load_set_aside_is_put_back_by_the_next_import(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL bulk-load technique")
    run(write(tmp_path, [nppes_row(NPI[37])], name="earlier.csv"))
    check_pending_constraints()
    before = schema_objects()
    nppes.set_aside_for_first_load()  # and then the process was killed, before it wrote any search entry
    ProviderSearchEntry.objects.filter(provider_id=NPI[37]).delete()
    assert len(schema_objects()) < len(before)
    # While its foreign key was aside, a provider was deleted and its specialty stayed behind.
    ProviderSpecialty.objects.create(provider_id=NPI[35], taxonomy_id=ORTHO)

    out, _ = run(write(tmp_path, [nppes_row(NPI[36])]))
    assert "1 providers created" in out
    assert schema_objects() == before
    assert not ProviderSpecialty.objects.filter(provider_id=NPI[35]).exists()
    assert ProviderSearchEntry.objects.filter(provider_id=NPI[37]).exists()


def test_a_reimport_rebuilds_the_search_entries_of_changed_providers_only(tmp_path):
    rows = [nppes_row(NPI[1]), nppes_row(NPI[2])]
    run(write(tmp_path, rows, name="may.csv"))
    unchanged = list(ProviderSearchEntry.objects.filter(provider_id=NPI[1]).values_list("id", flat=True))

    rows[1]["Provider Business Practice Location Address Postal Code"] = "10001"
    run(write(tmp_path, rows, name="june.csv"))
    moved = ProviderSearchEntry.objects.get(provider_id=NPI[2])
    assert (moved.latitude, moved.longitude) == pytest.approx((40.75, -73.99), abs=0.02)
    if connection.vendor == "postgresql":  # SQLite rewrites the whole batch's entries: it cannot tell what changed
        assert list(ProviderSearchEntry.objects.filter(provider_id=NPI[1]).values_list("id", flat=True)) == unchanged


def test_the_report_goes_where_asked_and_progress_goes_to_stderr(tmp_path):
    path = write(tmp_path, [nppes_row(NPI[31]), nppes_row(BAD_CHECK_DIGIT)])
    with path.open("a", encoding="utf-8", newline="") as f:
        f.write("\r\n")  # a blank line at the end is not a row
    report = tmp_path / "reports" / "june.csv"
    report.parent.mkdir()
    out, err = run(path, "--report", str(report), "--batch-size", "1")
    assert (
        out.strip()
        == f"2 rows read: 1 providers created, 0 updated, 0 deactivated, 1 rows skipped (reasons in {report})"
    )
    assert [(r["line"], r["npi"]) for r in report_rows(report)] == [("3", BAD_CHECK_DIGIT)]
    assert "NPPES 100%" in err and "rows/s" in err and "ETA" in err
    assert not (tmp_path / "npidata_pfile_20050523-20250608.errors.csv").exists()

    # A clean file still leaves a report (just the header), so an old report is never mistaken for this run's.
    out, _ = run(write(tmp_path, [nppes_row(NPI[31])]), "--report", str(report))
    assert "1 updated" in out and "reasons in" not in out
    assert report_rows(report) == []


def test_a_file_that_is_not_nppes_is_refused_before_anything_is_written(tmp_path):
    path = tmp_path / "nucc_taxonomy_250.csv"
    path.write_text("Code,Grouping,Classification\r\n207X00000X,Allopathic,Orthopaedic Surgery\r\n", encoding="utf-8")
    with pytest.raises(CommandError, match="not an NPPES main file: the header lacks 'NPI', 'Entity Type Code'"):
        run(path)
    assert not (tmp_path / "nucc_taxonomy_250.errors.csv").exists()

    with pytest.raises(CommandError, match="no such file"):
        run(tmp_path / "missing.csv")
    with pytest.raises(CommandError, match="--batch-size must be at least 1"):
        run(write(tmp_path, []), "--batch-size", "0")


def test_the_shipped_header_is_the_real_one():
    assert len(HEADER) == 330 and HEADER[:2] == ["NPI", "Entity Type Code"]
    assert HEADER[-1] == "Certification Date"
    nppes.Columns.from_header(HEADER)  # every column the importer reads is there, by its exact name


def test_imported_providers_are_searchable_and_deactivated_ones_are_not(tmp_path, client):
    from carepath.directory.models import ProviderSearchEntry

    empty_directory()  # the demo directory has a centre near these ZIPs; on PostgreSQL this is a first load
    run(write(tmp_path, [nppes_row(NPI[20]), nppes_row(NPI[21])], name="full.csv"))
    entries = ProviderSearchEntry.objects.filter(provider_id__in=[NPI[20], NPI[21]])
    assert set(entries.values_list("provider_id", flat=True)) == {NPI[20], NPI[21]}
    zip5 = PracticeLocation.objects.get(provider_id=NPI[20]).zip5
    found = [r["npi"] for r in client.get("/api/v1/providers", {"near": zip5, "radius": 5}).json()["results"]]
    assert NPI[20] in found

    run(write(tmp_path, [deactivated(NPI[20])], name="weekly.csv"), "--incremental")
    assert not ProviderSearchEntry.objects.filter(provider_id=NPI[20]).exists()
    assert ProviderSearchEntry.objects.filter(provider_id=NPI[21]).exists()
    found = [r["npi"] for r in client.get("/api/v1/providers", {"near": zip5, "radius": 5}).json()["results"]]
    assert NPI[20] not in found


def test_the_fast_reader_reads_what_the_csv_module_reads():
    rows = [[f"r{r}c{c}" for c in range(12)] for r in range(6)]
    rows[1][3] = 'a value with "quotes", and a comma'
    rows[2][5] = "a value over\ntwo lines"
    rows[3][11] = ""
    rows[4][0] = '","'  # the separator itself, inside a value
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    out.write('"r6c0","r6c1","trunc')  # a truncated last line
    reader = nppes.RecordReader(io.StringIO(out.getvalue(), newline=""), width=12, needed=6, first_line=2)
    got = list(reader)
    assert [line for line, _, _ in got] == [2, 3, 4, 6, 7, 8, 9]  # the two-line record starts on line 4
    for (_, row, error), want in zip(got, rows, strict=False):
        assert error is None and row[:7] == want[:7]
    assert reader.fast == 4  # rows 0, 2, 3 and 5: every field quoted, no quote inside (a line break is fine)
    line, row, error = got[-1]
    assert line == 9 and error and "columns, the header 12" in error and row[0] == "r6c0"


def test_the_fast_reader_falls_back_for_minimally_quoted_files():
    rows = [[f"v{r}{c}" for c in range(5)] for r in range(3)]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    reader = nppes.RecordReader(io.StringIO(out.getvalue(), newline=""), width=5, needed=4)
    assert [row for _, row, _ in reader] == rows and reader.fast == 0
