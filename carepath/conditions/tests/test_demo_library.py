"""The demo library: complete, readable, accurate where the seed page was not, and loaded idempotently."""

import re
from io import StringIO

import pytest
from django.core.management import call_command

from carepath.conditions.demo.library import GUIDE_SLUGS, SLIDESHOW_SLUGS, load_library, plain_text
from carepath.conditions.models import ConditionPage, GlossaryTerm, SlideshowPage


@pytest.fixture(scope="module")
def library():
    return load_library()


def test_library_files_have_no_problems(library):
    assert [str(p) for p in library.problems] == []


def test_library_has_every_required_guide_and_slideshow(library):
    assert sorted(library.guides) == sorted(GUIDE_SLUGS)
    assert sorted(library.slideshows) == sorted(SLIDESHOW_SLUGS)


def test_every_page_reads_at_grade_8_or_lower(library):
    grades = {slug: doc["grade"] for slug, doc in {**library.guides, **library.slideshows}.items()}
    assert all(grade <= 8 for grade in grades.values()), grades


def test_every_guide_cites_two_public_sources(library):
    for slug, doc in library.guides.items():
        assert len(doc["references"]) >= 2, slug


def test_guides_with_emergency_signs_have_an_emergency_callout(library):
    for slug in ("muscle-atrophy", "stroke", "spinal-cord-injury", "burns", "guillain-barre-syndrome", "als"):
        levels = [b.get("level") for b in library.guides[slug]["body"] if b["type"] == "callout"]
        assert "emergency" in levels, slug


def all_text(library):
    for slug, doc in {**library.guides, **library.slideshows}.items():
        parts = [doc.get("summary", "")]
        for block in doc.get("body", []) + doc.get("slides", []):
            parts += [block.get("heading", ""), plain_text(block.get("text", ""))]
        yield slug, " ".join(parts)
    for key, entry in library.glossary.items():
        yield f"glossary:{key}", entry["definition"]


def test_osteoarthritis_is_never_defined_as_bone_thinning(library):
    """The seed page's first error: that is osteoporosis."""
    definition = library.glossary["osteoarthritis"]["definition"].lower()
    assert "cartilage" in definition
    assert "thin" not in definition
    for where, text in all_text(library):
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            s = sentence.lower()
            if "osteoarthritis" in s and "osteoporosis" not in s:
                assert not re.search(r"thin(ning)? and weak|bones? (get|become)s? thin", s), (where, sentence)


def test_spinal_muscular_atrophy_is_never_called_spinal_cord_atrophy(library):
    """The seed page's second error."""
    for where, text in all_text(library):
        assert "spinal cord atrophy" not in text.lower(), where
    assert (
        "motor neuron"
        in plain_text(" ".join(b.get("text", "") for b in library.guides["spinal-muscular-atrophy"]["body"])).lower()
    )


def test_demo_content_names_no_clinician(library):
    for slug, doc in {**library.guides, **library.slideshows}.items():
        text = str(doc)
        assert not re.search(r"\bDr\.? [A-Z]|[A-Z][a-z]+ [A-Z][a-z]+, (MD|DO|RN|NP|PA|FACS)\b", text), slug
        assert doc.get("author", "CarePath editorial team") == "CarePath editorial team"


@pytest.mark.django_db
def test_loaded_pages_are_labelled_demo_and_not_reviewed():
    for page in list(ConditionPage.objects.all()) + list(SlideshowPage.objects.all()):
        assert page.is_demo and page.live
        assert page.last_reviewed is None and not page.reviewers.exists()


@pytest.mark.django_db
def test_loader_twice_keeps_everything_and_adds_nothing():
    before = (ConditionPage.objects.count(), SlideshowPage.objects.count(), GlossaryTerm.objects.count())
    guide = ConditionPage.objects.get(slug="gout")
    guide.summary = "An editor's own summary."
    guide.save_revision().publish()
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert "0 pages created, 32 kept as they were, 0 glossary terms added" in out.getvalue()
    after = (ConditionPage.objects.count(), SlideshowPage.objects.count(), GlossaryTerm.objects.count())
    assert before == after == (29, 3, len(load_library(check_grade=False).glossary))
    assert ConditionPage.objects.get(slug="gout").summary == "An editor's own summary."


@pytest.mark.django_db
def test_loader_recreates_a_deleted_guide_and_links_to_it():
    ConditionPage.objects.get(slug="stroke").delete()
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert "1 pages created" in out.getvalue()
    stroke = ConditionPage.objects.get(slug="stroke")
    assert stroke.live and stroke.references.count() >= 2


@pytest.mark.django_db
def test_if_empty_does_nothing_on_a_library_that_exists():
    out = StringIO()
    call_command("load_demo", "--if-empty", stdout=out)
    assert "the demo library was not loaded" in out.getvalue()


@pytest.mark.django_db
def test_internal_links_in_rich_text_point_at_pages(client):
    guide = ConditionPage.objects.get(slug="muscle-atrophy")
    sources = " ".join(b.value["text"].source for b in guide.body if b.block_type == "section")
    assert 'linktype="page"' in sources
    assert 'href="/conditions/' not in sources  # stored as page links, so they follow moves and renames
    html = client.get(guide.url).content.decode()
    assert 'href="/conditions/stroke/"' in html


@pytest.mark.django_db
def test_readability_command_prints_every_page():
    out = StringIO()
    call_command("readability", stdout=out)
    lines = out.getvalue().splitlines()
    assert any(line.endswith("/conditions/muscle-atrophy/") for line in lines)
    assert lines[-1] == "32 pages, 0 above grade 8"


@pytest.mark.django_db
def test_readability_command_fails_on_a_hard_page():
    guide = ConditionPage.objects.get(slug="gout")
    guide.summary = (
        "Hyperuricemia-associated monosodium urate crystallization precipitates inflammatory arthropathy "
        "characterized by paroxysmal, excruciatingly painful monoarticular exacerbations."
    )
    guide.body = [{"type": "section", "value": {"heading": "Pathophysiology", "text": f"<p>{guide.summary}</p>"}}]
    guide.save_revision().publish()
    out = StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("readability", stdout=out)
    assert exc.value.code == 1
    assert "/conditions/gout/  ABOVE GOAL" in out.getvalue()


GUIDE_TOML = """
title = "{title}"
summary = "A short plain summary."
icd10 = ["{code}"]
specialties = ["207Q00000X"]
[[body]]
type = "section"
heading = "What is it?"
text = \"\"\"<p>{text}</p>\"\"\"
[[references]]
title = "A page"
publisher = "MedlinePlus"
url = "{url}"
accessed = "2026-11-28"
[[references]]
title = "Another page"
publisher = "NHS"
url = "https://www.nhs.uk/conditions/stroke/"
accessed = "2026-11-28"
"""


def small_library(tmp_path, burns_text, code="T30.0", url="https://medlineplus.gov/burns.html"):
    for folder in ("guides", "slideshows", "glossary", "images"):
        (tmp_path / folder).mkdir()
    (tmp_path / "guides" / "stroke.toml").write_text(
        GUIDE_TOML.format(title="Stroke", code="I63.9", text="A stroke stops blood flow.", url=url)
    )
    (tmp_path / "guides" / "burns.toml").write_text(
        GUIDE_TOML.format(title="Burns", code=code, text=burns_text, url=url)
    )
    return load_library(base=tmp_path)


def test_checker_passes_a_clean_small_library(tmp_path):
    lib = small_library(tmp_path, 'A burn can follow a <a href="/conditions/stroke/">stroke</a> and a fall.')
    assert lib.problems == []
    assert set(lib.guides) == {"stroke", "burns"}


def test_checker_finds_a_guide_named_but_not_linked(tmp_path):
    lib = small_library(tmp_path, "A burn can follow a stroke and a fall.")
    assert [str(p) for p in lib.problems] == ["burns.toml: names 'stroke' but never links to /conditions/stroke/"]


def test_checker_finds_bad_codes_links_and_sources(tmp_path):
    lib = small_library(
        tmp_path,
        'See <a href="/conditions/no-such-page/">this</a> and <a href="https://example.com/">that</a>.',
        code="Z99.999",
        url="http://example.com/burns",
    )
    problems = "\n".join(map(str, lib.problems))
    assert "'Z99.999' is not an ICD-10-CM code" in problems
    assert "link '/conditions/no-such-page/' names no page of the library" in problems
    assert "link 'https://example.com/' must be /conditions/<slug>/" in problems
    assert "URL 'http://example.com/burns' is not https on" in problems


def test_checker_flags_hard_reading(tmp_path):
    hard = (
        "Thermal integumentary injuries necessitate multidisciplinary interventions encompassing "
        "fluid resuscitation, debridement, and reconstructive considerations for functional rehabilitation."
    )
    lib = small_library(tmp_path, hard + ' <a href="/conditions/stroke/">x</a>')
    assert any("reading grade" in str(p) and p.where == "burns.toml" for p in lib.problems)
