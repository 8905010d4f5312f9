"""Site search as readers use it: lay words, misspellings, abbreviations, codes; and bad input."""

import pytest
from django.db import connection, transaction
from wagtail.models import PageViewRestriction

from carepath.conditions.models import ConditionIndexPage, ConditionPage
from carepath.search.search import full_text_ids, parse_query, search

pytestmark = pytest.mark.django_db
API = "/api/v1/search"
SUGGEST = "/api/v1/search/suggest"


def urls(client, q, **params):
    response = client.get(API, {"q": q, **params})
    assert response.status_code == 200, response.content
    return [r["url"] for r in response.json()["results"]]


def first(client, q):
    found = urls(client, q)
    assert found, f"nothing found for {q!r}"
    return found[0]


@pytest.mark.parametrize(
    "q, guide",
    [
        ("lou gehrig", "als"),
        ("Lou Gehrig's disease", "als"),
        ("wasting muscles", "muscle-atrophy"),
        ("muscle loss", "muscle-atrophy"),
        ("thinning bones", "osteoporosis"),
        ("broken bone", "bone-fracture"),
        ("brain attack", "stroke"),
        ("wear and tear arthritis", "osteoarthritis"),
        ("adhesive capsulitis", "frozen-shoulder"),
        ("what are the symptoms of lupus", "lupus"),
    ],
)
def test_lay_names_and_synonyms_find_the_guide(client, q, guide):
    assert first(client, q) == f"/conditions/{guide}/"


def test_the_query_is_expanded_with_the_concepts_names(client):
    data = client.get(API, {"q": "lou gehrig"}).json()
    assert "amyotrophic lateral sclerosis" in data["expanded_with"]
    # Pages that only say "ALS" or "amyotrophic lateral sclerosis" are found through the expansion.
    assert len(data["results"]) > 1
    found = [r["url"] for r in data["results"]]
    assert "/conditions/spinal-muscular-atrophy/" in found


@pytest.mark.parametrize(
    "q, guide",
    [
        ("rheumatiod", "rheumatoid-arthritis"),
        ("rheumatiod arthritis", "rheumatoid-arthritis"),
        ("multipel sclerosis", "multiple-sclerosis"),
        ("fibromyalga", "fibromyalgia"),
        ("osteoporsis", "osteoporosis"),
        ("polymyalgia rheumatca", "polymyalgia-rheumatica"),
        ("carpel tunnel", "carpal-tunnel-syndrome"),
    ],
)
def test_misspellings_are_forgiven(client, q, guide):
    assert first(client, q) == f"/conditions/{guide}/"


def test_a_misspelling_gets_did_you_mean(client):
    data = client.get(API, {"q": "rheumatiod"}).json()
    assert data["did_you_mean"] == "rheumatoid"
    assert client.get(API, {"q": "rheumatoid"}).json()["did_you_mean"] is None
    html = client.get("/search/", {"q": "rheumatiod arthritis"}).content.decode()
    assert 'Did you mean <a href="?q=rheumatoid%20arthritis">rheumatoid arthritis</a>?' in html


@pytest.mark.parametrize(
    "q, guide",
    [
        ("RA", "rheumatoid-arthritis"),
        ("ra", "rheumatoid-arthritis"),
        ("MS", "multiple-sclerosis"),
        ("ALS", "als"),
        ("PMR", "polymyalgia-rheumatica"),
        ("SLE", "lupus"),
        ("CTS", "carpal-tunnel-syndrome"),
        ("MND", "als"),
        ("GBS", "guillain-barre-syndrome"),
        ("CVA", "stroke"),
    ],
)
def test_abbreviations_find_the_guide(client, q, guide):
    assert first(client, q) == f"/conditions/{guide}/"


def test_short_words_are_not_bent_into_abbreviations(client):
    # Two letters must match exactly: "MX" is not "MS" or "MD".
    assert "/conditions/multiple-sclerosis/" not in urls(client, "MX")


@pytest.mark.parametrize(
    "q, guide",
    [
        ("M06.9", "rheumatoid-arthritis"),
        ("m069", "rheumatoid-arthritis"),
        ("G12.21", "als"),
        ("M62.50", "muscle-atrophy"),
        ("M62.51", "muscle-atrophy"),  # not held, but its category M62.5 is the guide's
        ("M81.0", "osteoporosis"),
        ("code M79.7", "fibromyalgia"),
    ],
)
def test_icd10cm_codes_find_the_guide(client, q, guide):
    assert first(client, q) == f"/conditions/{guide}/"


def test_a_guide_holding_a_category_answers_every_code_under_it(client):
    page = ConditionPage(
        title="Test muscle wasting guide",
        slug="test-muscle-wasting",
        summary="Made for this test.",
        body=[{"type": "section", "value": {"heading": "What is it?", "text": "<p>Words.</p>"}}],
        icd10_codes="M62.5",
    )
    ConditionIndexPage.objects.get().add_child(instance=page)
    page.save_revision().publish()  # no rebuild asked for: publishing updates the vocabulary
    for child in [f"M62.5{n}" for n in range(10) if n not in (3, 7)] + ["M62.511", "M62.5"]:
        found = urls(client, child)
        assert "/conditions/test-muscle-wasting/" in found[:2], child
    # A guide holding the code itself outranks the one holding its category.
    assert first(client, "M62.50") == "/conditions/muscle-atrophy/"
    assert first(client, "M62.51") == "/conditions/test-muscle-wasting/"


def test_results_have_the_shape_product_md_names_best_first(client):
    data = client.get(API, {"q": "arthritis", "limit": 5}).json()
    assert data["query"] == "arthritis"
    assert len(data["results"]) == 5  # the demo library has more than five pages on arthritis
    for result in data["results"]:
        assert set(result) >= {"title", "url", "type", "score", "snippet"}
        assert result["type"] in ("guide", "slideshow")
        assert result["url"].startswith(("/conditions/", "/slideshows/"))
    scores = [r["score"] for r in data["results"]]
    assert scores == sorted(scores, reverse=True)
    types = {r["type"] for r in client.get(API, {"q": "rheumatoid arthritis myths"}).json()["results"]}
    assert types == {"guide", "slideshow"}


def test_pages_of_results_do_not_repeat(client):
    one, two = urls(client, "muscle", limit=3), urls(client, "muscle", limit=3, page=2)
    assert len(one) == 3 and two and not set(one) & set(two)


def test_snippets_mark_the_words_and_escape_the_page_text(client):
    page = ConditionPage(
        title="Test escaping guide",
        slug="test-escaping",
        summary='Chilblains <script>alert("x")</script> & frostnip are cold injuries.',
        body=[{"type": "section", "value": {"heading": "What is it?", "text": "<p>Words.</p>"}}],
    )
    ConditionIndexPage.objects.get().add_child(instance=page)
    page.save_revision().publish()
    [hit] = [r for r in client.get(API, {"q": "chilblains"}).json()["results"] if "test-escaping" in r["url"]]
    assert hit["snippet"].startswith("<mark>Chilblains</mark> &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp;")
    html = client.get("/search/", {"q": "chilblains"}).content.decode()
    assert "<script>alert" not in html and "<mark>Chilblains</mark> &lt;script&gt;" in html


def test_unpublished_pages_are_never_found(client):
    page = ConditionPage.objects.get(slug="gout")
    page.unpublish()
    assert "/conditions/gout/" not in urls(client, "gout")
    assert "/conditions/gout/" not in [s["url"] for s in client.get(SUGGEST, {"q": "gou"}).json()["results"]]


def test_pages_behind_a_view_restriction_are_never_listed(client):
    gout = ConditionPage.objects.get(slug="gout")
    assert "/conditions/gout/" in urls(client, "gout")
    restriction = PageViewRestriction.objects.create(page=gout, restriction_type="password", password="s3cret-x")
    assert "/conditions/gout/" not in urls(client, "gout")
    restriction.delete()
    # A restriction on a section covers every page below it.
    PageViewRestriction.objects.create(page=ConditionIndexPage.objects.get(), restriction_type="login")
    assert not [u for u in urls(client, "gout") if u.startswith("/conditions/")]


@pytest.mark.parametrize(
    "q, says",
    [
        ("", "Type what you are looking for"),
        ("   ", "Type what you are looking for"),
        ("x" * 201, "at most 200 characters; this one has 201"),
        ("?!... ---", "only of punctuation"),
    ],
)
def test_bad_queries_get_a_400_naming_q_in_the_api(client, q, says):
    for url in (API, SUGGEST):
        response = client.get(url, {"q": q})
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["parameter"] == "q" and says in error["message"]
    response = client.get(API)  # no q at all
    assert response.status_code == 400 and response.json()["error"]["parameter"] == "q"


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "x"}, {"page": "0"}, {"page": "11", "limit": "10"}])
def test_bad_paging_gets_a_400_naming_the_parameter(client, params):
    response = client.get(API, {"q": "arthritis", **params})
    assert response.status_code == 400
    assert response.json()["error"]["parameter"] in params


@pytest.mark.parametrize("q", ["", "x" * 201, "!!!", "%%%"])
def test_bad_queries_get_a_clear_message_on_the_page(client, q):
    response = client.get("/search/", {"q": q})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'role="alert"' in html and 'aria-invalid="true"' in html
    assert parse_query_message(q) in html


def parse_query_message(q):
    from django.utils.html import escape

    from carepath.search.search import SearchQueryError

    with pytest.raises(SearchQueryError) as raised:
        parse_query(q)
    return escape(raised.value.message)


def test_the_search_page_lists_results_with_snippets(client):
    response = client.get("/search/", {"q": "lou gehrig"})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<a href="/conditions/als/">ALS (amyotrophic lateral sclerosis)</a>' in html
    assert "<mark>Lou</mark> <mark>Gehrig" in html
    assert client.get("/search/").status_code == 200  # the empty form, no error
    assert client.get("/search/", {"q": "zzzzqqq"}).status_code == 200


def test_every_page_has_the_search_box(client):
    html = client.get("/conditions/").content.decode()
    assert 'role="search"' in html and 'name="q"' in html and 'role="combobox"' in html


def test_search_finds_nothing_gracefully(client):
    result = search(parse_query("zzzzqqq xxyyzz"))
    assert result.hits == [] and result.did_you_mean is None


def test_suggestions_complete_names_as_you_type(client):
    data = client.get(SUGGEST, {"q": "lou ge"}).json()
    assert data["results"][0]["url"] == "/conditions/als/"
    assert data["results"][0]["text"] == "Lou Gehrig's disease"
    # A word inside a name counts too, and each page is offered once.
    found = client.get(SUGGEST, {"q": "arthr"}).json()["results"]
    assert "/conditions/rheumatoid-arthritis/" in [s["url"] for s in found]
    assert len({s["url"] for s in found}) == len(found)
    assert {s["type"] for s in found} == {"guide", "slideshow"}


def test_suggestions_are_at_most_ten(client):
    assert len(client.get(SUGGEST, {"q": "m"}).json()["results"]) == 10
    assert len(client.get(SUGGEST, {"q": "a"}).json()["results"]) <= 10


def test_suggestions_know_codes_abbreviations_and_misspellings(client):
    def top(q):
        return client.get(SUGGEST, {"q": q}).json()["results"][0]["url"]

    assert top("M06.9") == "/conditions/rheumatoid-arthritis/"
    assert top("PMR") == "/conditions/polymyalgia-rheumatica/"
    assert top("rheumatiod") == "/conditions/rheumatoid-arthritis/"


def test_the_api_schema_documents_search(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/search" in schema["paths"] and "/api/v1/search/suggest" in schema["paths"]


def test_a_named_concept_outranks_pages_that_only_repeat_the_words(client):
    # A large imported library holds many pages on the same condition, uncoded, some saying the words far more
    # often than the guide does; the guide the vocabulary names, pinned by its ICD-10-CM code, stays first.
    index = ConditionIndexPage.objects.get()
    for n in range(3):
        page = ConditionPage(
            title=f"Amyotrophic lateral sclerosis (source {n})",
            slug=f"test-imported-als-{n}",
            also_called="Lou Gehrig disease\nALS",
            summary="Lou Gehrig disease. " * 5,
            body=[{"type": "section", "value": {"heading": "Lou Gehrig", "text": "<p>Lou Gehrig disease.</p>" * 5}}],
        )
        index.add_child(instance=page)
        page.save_revision().publish()
    for q in ("lou gehrig", "Lou Gehrig disease", "ALS", "G12.21"):
        assert first(client, q) == "/conditions/als/", q
    assert len([u for u in urls(client, "lou gehrig") if "test-imported-als" in u]) == 3


def test_initials_of_a_long_name_find_it(client):
    # No page lists "DJD"; it is derived from the also-called name "Degenerative joint disease".
    assert first(client, "DJD") == "/conditions/osteoarthritis/"
    assert first(client, "GBS") == "/conditions/guillain-barre-syndrome/"


def test_a_misspelling_that_some_page_uses_is_still_corrected(client):
    # Imported text has its own typos: a page naming "mutiple myeloma" must not swallow "mutiple sclerosis".
    page = ConditionPage(
        title="Mutiple spelling test",
        slug="test-mutiple",
        summary="Made for this test.",
        body=[{"type": "section", "value": {"heading": "What is it?", "text": "<p>Words.</p>"}}],
    )
    ConditionIndexPage.objects.get().add_child(instance=page)
    page.save_revision().publish()
    assert first(client, "mutiple sclerosis") == "/conditions/multiple-sclerosis/"


def add_guide(title, slug, text):
    page = ConditionPage(
        title=title,
        slug=slug,
        summary="Made for this test.",
        body=[{"type": "section", "value": {"heading": "About", "text": f"<p>{text}</p>"}}],
    )
    ConditionIndexPage.objects.get().add_child(instance=page)
    page.save_revision().publish()
    return page


def test_a_body_holding_every_word_outranks_titles_holding_one_common_word():
    # A lay description names no concept, so the full text ranks alone: a page whose text holds all the words of
    # the description comes before the many pages whose titles hold only its most common word (on PostgreSQL,
    # ts_rank alone put those titles first; each word now counts by how rare it is).
    for n in range(6):
        add_guide(f"Quillow disorder {n}", f"test-quillow-{n}", "Nothing else here.")
    target = add_guide("Target guide", "test-target", "A quillow with brantic fendle in the morning.")
    found = full_text_ids("quillow brantic fendle", [], 10)
    assert found[0] == target.pk
    assert len(found) == 7  # the title pages are still found, after it
    # A rare word found only in a title is found too, and the unpublished are not.
    only_title = add_guide("Zarvic wheeze", "test-zarvic", "Nothing else here.")
    assert full_text_ids("zarvic", [], 10) == [only_title.pk]
    only_title.unpublish()
    assert full_text_ids("zarvic", [], 10) == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner setting")
def test_the_planner_setting_is_restored_after_the_probes():
    with transaction.atomic(), connection.cursor() as cursor:
        full_text_ids("joint pain", [], 10)
        cursor.execute("SHOW enable_seqscan")
        assert cursor.fetchone()[0] == "on"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's storage of the index table")
def test_the_index_table_keeps_its_large_values_out_of_its_rows():
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'wagtailsearch_indexentry'")
        assert "toast_tuple_target=128" in cursor.fetchone()[0]
