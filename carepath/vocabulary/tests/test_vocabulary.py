"""The vocabulary: what a concept holds, and that it follows publishing without anyone rebuilding it."""

import pytest
from django.core.management import call_command

from carepath.conditions.models import ConditionIndexPage, ConditionPage, GlossaryTerm
from carepath.vocabulary.build import build_vocabulary, concept_terms
from carepath.vocabulary.index import get_index
from carepath.vocabulary.models import Concept, VocabularyVersion
from carepath.vocabulary.text import fold, query_tokens, tokens

pytestmark = pytest.mark.django_db


def publish_guide(slug, title, **fields):
    page = ConditionPage(
        title=title,
        slug=slug,
        summary=fields.pop("summary", f"{title} in plain words."),
        body=[{"type": "section", "value": {"heading": "What is it?", "text": "<p>Words.</p>"}}],
        **fields,
    )
    ConditionIndexPage.objects.get().add_child(instance=page)
    page.save_revision().publish()
    return page


def concept_names(slug):
    return {fold(text): kind for text, kind in Concept.objects.get(page__slug=slug).terms}


def test_text_is_folded_and_plurals_made_singular():
    assert fold("Lou Gehrig's disease") == "lou gehrig disease"
    assert fold("Guillain-Barré") == "guillain barre"
    assert tokens("Wasting muscles") == ["wasting", "muscle"]
    assert tokens("arthritis sclerosis bones") == ["arthritis", "sclerosis", "bone"]
    assert query_tokens("what are the symptoms of MS") == ["ms"]


def test_a_guide_concept_holds_names_codes_hpo_synonyms_and_glossary_terms():
    names = concept_names("muscle-atrophy")
    assert names["muscle atrophy"] == "title"
    assert names["muscle loss"] == "name"  # also-called
    assert names["muscle wasting"] in ("name", "hpo_lay")  # also-called, and HPO's lay synonym of HP:0003202
    assert names["muscle wasting and atrophy"] == "icd"  # M62.50 without ICD-10-CM's qualifiers
    assert names["amyotrophy"] == "hpo"  # an exact HPO synonym
    assert Concept.objects.get(page__slug="muscle-atrophy").codes == ["M6250", "M6252", "M6255", "M6256", "M6259"]
    # A glossary term that links to the guide names it too.
    assert fold("sarcopenia") in concept_names("sarcopenia")


def test_names_in_parentheses_become_names_of_their_own():
    names = concept_names("als")
    assert {"als", "amyotrophic lateral sclerosis", "lou gehrig disease", "motor neurone disease", "mnd"} <= set(names)


def test_hpo_lay_synonyms_are_marked():
    page = ConditionPage.objects.get(slug="muscle-atrophy")
    terms, _ = concept_terms(page)
    assert ["Muscle degeneration", "hpo_lay"] in terms  # "EXACT layperson" in hp.obo


def test_publishing_a_guide_adds_its_concept_and_a_new_version():
    before = VocabularyVersion.current()
    publish_guide("chilblains", "Chilblains", also_called="Pernio", icd10_codes="T69.1XXA")
    assert VocabularyVersion.current() != before
    matches, _ = get_index().match_words(["pernio"])
    assert matches[0].concept.url == "/conditions/chilblains/"
    assert get_index().match_code("T691XXA")[0].concept.title == "Chilblains"


def test_unpublishing_and_deleting_remove_the_concept():
    page = publish_guide("chilblains", "Chilblains", also_called="Pernio")
    page.unpublish()
    assert not Concept.objects.filter(page=page).exists()
    assert get_index().match_words(["pernio"])[0] == []
    page.save_revision().publish()
    assert get_index().match_words(["pernio"])[0]
    page.delete()
    assert get_index().match_words(["pernio"])[0] == []


def test_editing_a_published_guide_changes_its_names():
    page = publish_guide("chilblains", "Chilblains", also_called="Pernio")
    page.also_called = "Cold sores of the toes"
    page.save_revision().publish()
    assert get_index().match_words(["pernio"])[0] == []
    assert get_index().match_words(tokens("cold sores toes"))[0][0].concept.title == "Chilblains"


def test_a_glossary_term_pointing_at_a_guide_names_it():
    page = publish_guide("chilblains", "Chilblains")
    term = GlossaryTerm.objects.create(term="perniosis", definition="Itchy red patches after cold.", guide=page)
    assert get_index().match_words(["perniosis"])[0][0].concept.title == "Chilblains"
    term.guide = None
    term.save()
    assert get_index().match_words(["perniosis"])[0] == []


def test_build_vocabulary_rebuilds_every_live_page(capsys):
    Concept.objects.all().delete()
    assert len(get_index()) == 0
    call_command("build_vocabulary")
    live = ConditionPage.objects.live().count() + 3  # the demo library's three slideshows
    assert Concept.objects.count() == live
    assert len(get_index()) == live
    assert "concepts" in capsys.readouterr().out
    call_command("build_vocabulary", "--if-empty")
    assert "not rebuilt" in capsys.readouterr().out
    assert build_vocabulary() == live
