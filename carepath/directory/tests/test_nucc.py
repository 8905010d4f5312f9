from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from carepath.directory.models import Taxonomy

pytestmark = pytest.mark.django_db

CURRENT = (
    "\ufeffCode,Grouping,Classification,Specialization,Definition,Notes,Display Name,Section\n"
    '207RR0500X,Allopathic & Osteopathic Physicians,Internal Medicine,Rheumatology,"Def, with comma",,'
    "Rheumatology Physician,Individual\n"
    "2084N0400X,Allopathic & Osteopathic Physicians,Psychiatry & Neurology,Neurology,,,Neurology Physician,Individual\n"
    "NOT-A-CODE,Group,Thing,,,,,\n"
    "363L00000X,Physician Assistants & Advanced Practice Nursing Providers,,,,,,\n"
    "2084N0400X,Allopathic & Osteopathic Physicians,Psychiatry & Neurology,Neurology,,,Duplicate,Individual\n"
)
# An older release: no Notes, Display Name or Section, and columns in another order.
OLD = (
    "Code,Classification,Grouping,Specialization,Definition\n"
    "261QM0801X,Clinic/Center,Ambulatory Health Care Facilities,Mental Health,\n"
)


def write(tmp_path, text, name="nucc.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_imports_by_column_name_and_reports_bad_rows_with_line_numbers(tmp_path):
    out, err = StringIO(), StringIO()
    call_command("import_nucc", str(write(tmp_path, CURRENT)), stdout=out, stderr=err)
    rheum = Taxonomy.objects.get(code="207RR0500X")
    assert (rheum.classification, rheum.specialization, rheum.display_name) == (
        "Internal Medicine",
        "Rheumatology",
        "Rheumatology Physician",
    )
    assert "0 taxonomy codes added, 2 updated, 3 rows skipped" in out.getvalue()
    errors = err.getvalue()
    assert ":4: skipped: code 'NOT-A-CODE' is not a 10-character NUCC code" in errors
    assert ":5: skipped: code 363L00000X has no classification" in errors
    assert ":6: skipped: code 2084N0400X appears twice" in errors
    assert Taxonomy.objects.get(code="2084N0400X").display_name == "Neurology Physician"


def test_imports_an_older_release_with_other_columns(tmp_path):
    out = StringIO()
    call_command("import_nucc", str(write(tmp_path, OLD)), stdout=out)
    clinic = Taxonomy.objects.get(code="261QM0801X")
    assert clinic.grouping == "Ambulatory Health Care Facilities"
    assert clinic.label == "Clinic/Center: Mental Health"
    assert "1 taxonomy codes added" in out.getvalue()


def test_a_file_that_is_not_nucc_is_refused_whole(tmp_path):
    before = Taxonomy.objects.count()
    with pytest.raises(CommandError, match="header lacks Grouping, Classification"):
        call_command("import_nucc", str(write(tmp_path, "Code,Name\n207X00000X,Ortho\n")))
    assert Taxonomy.objects.count() == before


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_nucc", str(tmp_path / "missing.csv"))


def test_shipped_specialties_are_there_on_a_fresh_database():
    assert Taxonomy.objects.filter(code="207X00000X", classification="Orthopaedic Surgery").exists()
    assert Taxonomy.objects.get(code="207RR0500X").short_name == "Rheumatology"
