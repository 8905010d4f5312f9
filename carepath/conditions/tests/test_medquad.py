"""The MedQuAD importer, on small files written here in the collection's real formats."""

from io import StringIO
from xml.sax.saxutils import escape

import pytest
from django.core.management import CommandError, call_command

from carepath.conditions.medquad import import_medquad, read_document
from carepath.conditions.models import ConditionPage

pytestmark = pytest.mark.django_db


def document(doc_id, focus, pairs, source="GHR", url=None, synonyms=(), root="Document"):
    """A file as MedQuAD writes it: <Document id source url>, <Focus>, <FocusAnnotations>, <QAPairs>."""
    url = url or f"https://example.nih.gov/condition/{doc_id}"
    synonym_xml = "".join(f"<Synonym>{escape(s)}</Synonym>" for s in synonyms)
    pair_xml = "".join(
        f'<QAPair pid="{i}"><Question qid="{doc_id}-{i}" qtype="{qtype}">{escape(question)}</Question>'
        f"<Answer>{escape(answer)}</Answer></QAPair>"
        for i, (qtype, question, answer) in enumerate(pairs, 1)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} id="{doc_id}" source="{source}" url="{url}">\n'
        f"<Focus>{escape(focus)}</Focus>\n<FocusAnnotations><UMLS><CUIs><CUI>C0000001</CUI></CUIs>"
        f"<SemanticGroup>Disorders</SemanticGroup></UMLS><Synonyms>{synonym_xml}</Synonyms></FocusAnnotations>\n"
        f"<QAPairs>{pair_xml}</QAPairs>\n</{root}>\n"
    )


GLOW_PAIRS = [
    ("treatment", "What are the treatments for Glowfoot syndrome ?", "Rest and warm water baths help most people."),
    (
        "information",
        "What is (are) Glowfoot syndrome ?",
        "Glowfoot syndrome is a made-up condition used in tests. It makes the feet feel warm.\n\n"
        "It is named after its main sign. More text follows here to make a long paragraph.",
    ),
    (
        "symptoms",
        "What are the symptoms of Glowfoot syndrome ?",
        "Signs can include:    - warm feet    - red toes    - mild itching",
    ),
    ("inheritance", "Is Glowfoot syndrome inherited ?", "It is not passed down in families."),
]


def write_collection(root):
    ghr = root / "3_GHR_QA"
    ghr.mkdir(parents=True)
    (ghr / "0000001.xml").write_text(
        document("0000001", "Glowfoot syndrome", GLOW_PAIRS, synonyms=["Warm foot disorder", "GFS"]),
        encoding="utf-8",
    )
    ninds = root / "6_NINDS_QA"
    ninds.mkdir()
    (ninds / "0000018.xml").write_text(
        document(
            "0000018",
            "ALS",
            [("information", "What is ALS ?", "A made-up answer about a disease of the nerves that move muscles.")],
            source="NINDS",
            synonyms=["Lou Gehrig's disease"],
        ),
        encoding="utf-8",
    )
    (ninds / "0000020.xml").write_text(
        # The older NINDS layout some real files use: <doc docid corpus>, lower-case children.
        '<?xml version="1.0" encoding="UTF-8"?>\n<doc docid="0000020" corpus="NINDS" '
        'url="https://example.nih.gov/disorders/tremblefoot">\n<doctitle-focus>Tremblefoot</doctitle-focus>\n'
        '<qaPairs><pair pid="1"><question qid="0000020-1" qtype="information">what is tremblefoot?</question>'
        "<answer>Tremblefoot is another made-up condition.</answer></pair></qaPairs>\n</doc>\n",
        encoding="utf-8",
    )
    (ninds / "0000021.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<Document id="0000021" source="NINDS" url="https://x.nih.gov/a">'
        "<Focus>Broken file</Focus><QAPairs><QAPair pid='1'><Question qid='1' qtype='information'>What?",
        encoding="utf-8",
    )
    niddk = root / "5_NIDDK_QA"
    niddk.mkdir()
    (niddk / "0000056.xml").write_text(document("0000056", "Empty topic", []), encoding="utf-8")
    (niddk / "0000057.xml").write_text(
        document("0000057", "Unanswered topic", [("information", "What is it ?", "")]), encoding="utf-8"
    )
    (niddk / "0000058.xml").write_text(
        '<?xml version="1.0"?><Glossary><Term>Not a document</Term></Glossary>', encoding="utf-8"
    )
    (niddk / "notes.txt").write_text("not XML, not read", encoding="utf-8")
    return root


@pytest.fixture
def collection(tmp_path):
    return write_collection(tmp_path / "medquad")


def imported(key):
    return ConditionPage.objects.get(imported_from="medquad", import_key=key)


def test_one_guide_per_document_with_sections_names_reference_and_credit(collection, client):
    result = import_medquad(collection)
    assert (result.files, result.created, result.updated) == (7, 3, 0)

    page = imported("GHR/0000001")
    assert page.live and not page.is_demo and page.imported_from == "medquad"
    assert page.title == "Glowfoot syndrome"
    assert page.also_called_names == ["Warm foot disorder", "GFS"]
    assert page.author == "Genetics Home Reference, National Library of Medicine"
    # Sections follow the reader's order, not the file's: overview, symptoms, inheritance, treatment.
    assert [b.value["heading"] for b in page.body] == ["Overview", "Symptoms", "Inheritance", "Treatment"]
    overview = page.body[0].value["text"].source
    assert overview.startswith("<p>Glowfoot syndrome is a made-up condition")
    assert overview.count("<p>") == 2
    assert page.body[1].value["text"].source == (
        "<p>Signs can include:</p><ul><li>warm feet</li><li>red toes</li><li>mild itching</li></ul>"
    )
    assert page.summary == "Glowfoot syndrome is a made-up condition used in tests. It makes the feet feel warm."
    refs = list(page.references.all())
    assert refs[0].url == "https://example.nih.gov/condition/0000001"
    assert refs[0].publisher == page.author
    assert "Ben Abacha" in refs[1].publisher

    response = client.get(page.url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "CC BY 4.0" in html and "Ben Abacha" in html and "Demner-Fushman" in html
    assert 'href="https://example.nih.gov/condition/0000001"' in html
    assert "Demo content" not in html
    assert "<li>red toes</li>" in html


def test_malformed_and_empty_files_are_reported_with_their_reason_and_skipped(collection):
    result = import_medquad(collection)
    reasons = {s.path.name: s.reason for s in result.skipped}
    assert set(reasons) == {"0000021.xml", "0000056.xml", "0000057.xml", "0000058.xml"}
    assert reasons["0000021.xml"].startswith("not well-formed XML")
    assert reasons["0000056.xml"] == reasons["0000057.xml"] == "no answered question: nothing to show"
    assert reasons["0000058.xml"] == "the root element is <Glossary>, not <Document>"
    assert not ConditionPage.objects.filter(title__in=["Broken file", "Empty topic", "Unanswered topic"]).exists()


def test_the_older_ninds_layout_is_read(collection):
    doc = read_document(collection / "6_NINDS_QA" / "0000020.xml")
    assert (doc.key, doc.focus, doc.url) == (
        "NINDS/0000020",
        "Tremblefoot",
        "https://example.nih.gov/disorders/tremblefoot",
    )
    assert doc.pairs[0].answer == "Tremblefoot is another made-up condition."


def test_imported_slugs_never_take_the_libraries_own(collection, client):
    import_medquad(collection)
    ninds_als = imported("NINDS/0000018")
    assert ninds_als.slug == "als-ninds"
    assert ninds_als.url == "/conditions/als-ninds/"
    ours = ConditionPage.objects.get(slug="als")
    assert ours.is_demo and ours.imported_from == ""
    assert client.get("/conditions/als/").context["page"].pk == ours.pk


def test_a_second_run_creates_nothing_and_a_changed_document_updates_its_page(collection):
    import_medquad(collection)
    before = ConditionPage.objects.count()
    page = imported("GHR/0000001")

    again = import_medquad(collection)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert ConditionPage.objects.count() == before

    changed = [("information", "What is (are) Glowfoot syndrome ?", "A rewritten overview.")] + GLOW_PAIRS[2:]
    (collection / "3_GHR_QA" / "0000001.xml").write_text(
        document("0000001", "Glowfoot syndrome", changed, synonyms=["GFS"]), encoding="utf-8"
    )
    third = import_medquad(collection)
    assert (third.created, third.updated, third.unchanged) == (0, 1, 2)
    assert ConditionPage.objects.count() == before
    updated = imported("GHR/0000001")
    assert (updated.pk, updated.slug) == (page.pk, page.slug)
    assert updated.summary == "A rewritten overview."
    assert updated.also_called_names == ["GFS"]
    assert [b.value["heading"] for b in updated.body] == ["Overview", "Symptoms", "Inheritance"]
    assert updated.references.count() == 2


def test_an_import_stopped_between_batches_keeps_what_it_wrote_and_a_rerun_finishes(collection):
    def stop_after_first_batch(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_medquad(collection, batch_size=2, progress=stop_after_first_batch)
    # The first batch (two files in path order: the GHR document and an empty NIDDK one) was committed.
    assert ConditionPage.objects.filter(imported_from="medquad").count() == 1

    result = import_medquad(collection, batch_size=2)
    assert (result.created, result.unchanged) == (2, 1)
    keys = list(ConditionPage.objects.filter(imported_from="medquad").values_list("import_key", flat=True))
    assert sorted(keys) == ["GHR/0000001", "NINDS/0000018", "NINDS/0000020"]


def test_two_documents_on_one_topic_get_their_own_pages(tmp_path):
    folder = tmp_path / "4_MPlus_Health_Topics_QA"
    folder.mkdir()
    pair = [("information", "What is gout?", "Gout is a kind of arthritis.")]
    for doc_id in ("0000001", "0000002"):
        (folder / f"{doc_id}.xml").write_text(
            document(doc_id, "Gout", pair, source="MPlusHealthTopics"), encoding="utf-8"
        )
    import_medquad(tmp_path)
    slugs = sorted(ConditionPage.objects.filter(imported_from="medquad").values_list("slug", flat=True))
    assert slugs == ["gout-medlineplus", "gout-medlineplus-2"]
    assert ConditionPage.objects.get(slug="gout").is_demo


def test_imported_guides_are_in_the_search_index(collection):
    import_medquad(collection)
    found = list(ConditionPage.objects.live().search("Glowfoot"))
    assert [p.import_key for p in found] == ["GHR/0000001"]


def test_the_command_shows_progress_and_skips_on_stderr_and_the_summary_on_stdout(collection):
    out, err = StringIO(), StringIO()
    call_command("import_medquad", str(collection), stdout=out, stderr=err)
    assert out.getvalue().startswith("7 files: 3 guides created, 0 updated, 0 unchanged, 4 skipped, in ")
    assert "MedQuAD 100%" in err.getvalue()
    assert f"skipped {collection / '6_NINDS_QA' / '0000021.xml'}: not well-formed XML" in err.getvalue()


def test_the_command_refuses_a_missing_directory_and_a_bad_batch_size(tmp_path):
    with pytest.raises(CommandError, match="no such directory"):
        call_command("import_medquad", str(tmp_path / "nowhere"))
    with pytest.raises(CommandError, match="--batch-size must be at least 1"):
        call_command("import_medquad", str(tmp_path), "--batch-size", "0")


def test_the_reading_grade_check_leaves_imported_text_out(collection):
    import_medquad(collection)
    out = StringIO()
    with pytest.raises(SystemExit):
        # The demo library passes; if imported text were measured its grade would not matter either way,
        # so lower the bar to make every measured page fail and count them.
        call_command("readability", "--max-grade", "0", stdout=out)
    text = out.getvalue()
    assert "/conditions/glowfoot-syndrome-ghr/" not in text
    assert "32 pages, 32 above grade 0" in text
    assert "3 imported guides not measured" in text


def test_an_editor_can_open_an_imported_guide_in_the_cms(collection, admin_client):
    import_medquad(collection)
    page = imported("GHR/0000001")
    response = admin_client.get(f"/admin/pages/{page.pk}/edit/")
    assert response.status_code == 200
    assert "MedQuAD (NIH question-answer collection, CC BY 4.0)" in response.content.decode()
