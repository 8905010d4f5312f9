import pytest

from carepath.api.api import ProviderPage
from carepath.directory import search_index
from carepath.directory.models import Provider
from carepath.directory.tests.factories import make_provider

pytestmark = pytest.mark.django_db


@pytest.fixture
def real_only():
    """Search over the providers a test makes, without the synthetic demo directory."""
    Provider.objects.filter(is_synthetic=True).delete()


def api(client, **params):
    """The API's answer; every 200 is held to the ProviderPage schema the API documents (the view renders its
    answer without passing it through the schema)."""
    response = client.get("/api/v1/providers", params)
    if response.status_code == 200:
        ProviderPage.model_validate_json(response.content, strict=True)
    return response


def npis(response):
    assert response.status_code == 200, response.content
    return [r["npi"] for r in response.json()["results"]]


def test_specialty_near_zip_within_radius(client, real_only):
    near = make_provider(zip5="10001")
    far = make_provider(zip5="19103")  # Philadelphia, about 80 miles away
    other = make_provider(code="207RR0500X", zip5="10001")
    assert npis(api(client, specialty="207X00000X", near="10001", radius=25)) == [near.npi]
    assert set(npis(api(client, specialty="207X00000X", near="10001", radius=100))) == {near.npi, far.npi}
    assert other.npi in npis(api(client, near="10001"))


def test_a_classification_includes_its_specializations(client, real_only):
    hand = make_provider(code="207XS0106X")  # Orthopaedic Surgery: Hand Surgery
    assert hand.npi in npis(api(client, specialty="207X00000X", near="10001"))
    assert hand.npi in npis(api(client, specialty="Orthopaedic Surgery", near="10001"))
    assert hand.npi in npis(api(client, specialty="hand surgery", near="10001"))


def test_condition_stands_for_its_guides_specialties(client, real_only):
    rheum = make_provider(code="207RR0500X")
    derm = make_provider(code="207N00000X")
    found = npis(api(client, condition="rheumatoid-arthritis", near="10001"))
    assert rheum.npi in found and derm.npi not in found


def test_city_and_state(client, real_only):
    p = make_provider(zip5="60601")
    assert npis(api(client, near="Chicago, IL", radius=10)) == [p.npi]


def test_rating_order_shrinks_small_samples(client, real_only):
    one_five = make_provider(ratings=[5])
    many = make_provider(ratings=[5] * 160 + [4] * 40)  # 4.8 from 200 reviews
    body = api(client, specialty="207X00000X", near="10001", sort="rating").json()
    assert [r["npi"] for r in body["results"]] == [many.npi, one_five.npi]
    first = body["results"][0]
    assert first["rating"]["average"] == 4.8 and first["rating"]["count"] == 200
    assert body["results"][1]["rating"] == {"average": 5.0, "count": 1, "score": pytest.approx(3.75)}


def test_sort_by_distance(client, real_only):
    far = make_provider(zip5="11201", ratings=[5, 5, 5])  # Brooklyn
    near = make_provider(zip5="10001", ratings=[2])
    assert npis(api(client, near="10001", sort="distance")) == [near.npi, far.npi]
    results = api(client, near="10001", sort="distance").json()["results"]
    assert results[0]["distance_miles"] < results[1]["distance_miles"]


def test_best_match_puts_primary_specialty_first(client, real_only):
    secondary = make_provider(primary=False, ratings=[5] * 50)
    primary = make_provider(primary=True)
    assert npis(api(client, specialty="207X00000X", near="10001"))[:2] == [primary.npi, secondary.npi]


def test_min_rating_and_accepting(client, real_only):
    good = make_provider(ratings=[5, 4], accepting=True)
    poor = make_provider(ratings=[2, 1], accepting=True)
    closed = make_provider(ratings=[5], accepting=False)
    assert set(npis(api(client, near="10001", min_rating=4))) == {good.npi, closed.npi}
    assert set(npis(api(client, near="10001", accepting="true"))) == {good.npi, poor.npi}
    assert npis(api(client, near="10001", accepting="false")) == [closed.npi]


def test_inactive_providers_leave_the_directory(client, real_only):
    p = make_provider()
    Provider.objects.filter(npi=p.npi).update(active=False)
    search_index.refresh([p.npi])  # what the NPPES importer does after each batch
    assert npis(api(client, near="10001")) == []
    assert client.get(f"/find-a-doctor/{p.npi}/").status_code == 404


def test_pagination(client, real_only):
    for _ in range(23):
        make_provider()
    first = api(client, near="10001").json()
    assert first["count"] == 23 and len(first["results"]) == 20
    assert "page=2" in first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 3 and second["next"] is None
    assert not {r["npi"] for r in first["results"]} & {r["npi"] for r in second["results"]}


def test_result_shape(client, real_only):
    p = make_provider(ratings=[4, 5])
    [record] = api(client, specialty="207X00000X", near="10001").json()["results"]
    assert record == {
        "npi": p.npi,
        "name": p.display_name,
        "credential": "MD",
        "specialties": ["Orthopaedic Surgery"],
        "distance_miles": 0.0,
        "rating": {"average": 4.5, "count": 2, "score": pytest.approx(3.786, abs=0.001)},
        "accepting_new_patients": True,
        "synthetic": False,
        "url": f"http://testserver/find-a-doctor/{p.npi}/",
    }


@pytest.mark.parametrize(
    "params, parameter, words",
    [
        ({"near": "00000"}, "near", "don't know the place"),
        ({"near": "Atlantis"}, "near", '5-digit US ZIP code or "City, ST"'),
        ({"near": "Nowhere, ZZ"}, "near", "don't know the place"),
        ({"specialty": "wizardry"}, "specialty", "Unknown specialty"),
        ({"condition": "no-such-guide"}, "condition", "No condition guide"),
        ({"near": "10001", "radius": "0"}, "radius", "radius"),
        ({"near": "10001", "radius": "101"}, "radius", "radius"),
        ({"near": "10001", "radius": "far"}, "radius", "radius"),
        ({"radius": "10"}, "radius", "needs near"),
        ({"min_rating": "great"}, "min_rating", "min_rating"),
        ({"min_rating": "6"}, "min_rating", "min_rating"),
        ({"accepting": "maybe"}, "accepting", "accepting"),
        ({"sort": "price"}, "sort", "sort"),
        ({"sort": "distance"}, "sort", "needs near"),
        ({"page": "0"}, "page", "page"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(client, params, parameter, words):
    response = api(client, **params)
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["parameter"] == parameter
    assert words in body["error"]["message"]
    page = client.get("/find-a-doctor/", params)
    assert page.status_code == 400
    assert 'role="alert"' in page.content.decode()


def test_openapi_schema_documents_the_providers_endpoint(client):
    schema = client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/providers"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"specialty", "condition", "near", "radius", "min_rating", "accepting", "sort", "page"} <= names


def test_page_lists_results_and_remembers_the_zip_in_a_cookie(client, real_only):
    p = make_provider(ratings=[5, 4])
    response = client.get("/find-a-doctor/", {"specialty": "207X00000X", "near": "10001"})
    html = response.content.decode()
    assert response.status_code == 200
    assert f'href="/find-a-doctor/{p.npi}/"' in html
    assert "1 Orthopaedic Surgery provider within 25 miles of New York, NY 10001" in html
    # Remembered in a cookie of the reader's own, not in a session: the (cached) guide stays the same for everyone
    # and site.js fills the box in; the search page, never cached, fills it in itself.
    assert response.cookies["near_zip"].value == "10001"
    assert "sessionid" not in response.cookies
    guide = client.get("/conditions/muscle-atrophy/").content.decode()
    assert "10001" not in guide and "data-near-zip" in guide
    assert 'value="10001"' in client.get("/find-a-doctor/").content.decode()


def test_demo_directory_answers_the_done_when_query(client):
    body = api(client, specialty="207X00000X", near="10001", radius=25, sort="rating").json()
    assert body["count"] >= 3
    assert all(r["synthetic"] for r in body["results"])
    scores = [r["rating"]["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)


def test_search_entries_follow_the_directory(real_only):
    from carepath.directory.models import ProviderSearchEntry, ProviderSpecialty

    p = make_provider(code="207X00000X")
    ProviderSpecialty.objects.create(provider=p, taxonomy_id="207RR0500X", is_primary=False)
    assert search_index.refresh([p.npi]) == 2
    entries = ProviderSearchEntry.objects.filter(provider=p)
    assert {e.taxonomy_id for e in entries} == {"207X00000X", "207RR0500X"}
    assert search_index.refresh() == ProviderSearchEntry.objects.count()


def test_a_provider_with_two_matching_specialties_is_listed_once(client, real_only):
    from carepath.directory.models import ProviderSpecialty

    p = make_provider(code="207X00000X")
    ProviderSpecialty.objects.create(provider=p, taxonomy_id="207XS0106X", is_primary=False)
    search_index.refresh([p.npi])
    body = api(client, specialty="207X00000X", near="10001").json()
    assert body["count"] == 1 and [r["npi"] for r in body["results"]] == [p.npi]


def test_search_entries_are_the_same_computed_in_sql_or_in_python(real_only, monkeypatch):
    from carepath.directory.models import ProviderSearchEntry

    p = make_provider(zip5="60601")
    in_sql = list(ProviderSearchEntry.objects.filter(provider=p).values_list("x", "y", "z"))
    monkeypatch.setattr(search_index, "_database_has_trigonometry", lambda: False)
    search_index.refresh([p.npi])
    in_python = list(ProviderSearchEntry.objects.filter(provider=p).values_list("x", "y", "z"))
    assert len(in_sql) == len(in_python) == 1
    assert in_sql[0] == pytest.approx(in_python[0], abs=1e-12)


@pytest.fixture
def crowded(real_only):
    """70 orthopaedic surgeons around New York: ties at the prior (no reviews), a second specialty, a second
    practice, so that with a tiny cap the dense-area path has to get them all right."""
    import random

    from carepath.directory.geo import zip_centroid
    from carepath.directory.models import PracticeLocation, ProviderSpecialty, bayesian_average

    rng = random.Random(7)
    zips = ["10001", "10002", "11201", "07302", "10451", "11354", "10301", "06901"]
    providers = []
    for i in range(70):
        code = "207XS0106X" if i % 5 == 0 else "207X00000X"
        p = make_provider(code=code, zip5=rng.choice(zips), primary=i % 7 != 0)
        count = 0 if i % 3 == 0 else rng.randint(1, 40)
        total = sum(rng.randint(1, 5) for _ in range(count))
        Provider.objects.filter(npi=p.npi).update(
            rating_count=count, rating_sum=total, rating_score=bayesian_average(total, count)
        )
        if i % 4 == 0:
            ProviderSpecialty.objects.create(provider=p, taxonomy_id="207XX0004X", is_primary=False)
        if i % 6 == 0:
            zip5 = rng.choice(zips)
            lat, lng = zip_centroid(zip5)
            PracticeLocation.objects.create(
                provider=p, is_primary=False, city="SECOND", state="NY", zip5=zip5, latitude=lat, longitude=lng
            )
        providers.append(p.npi)
    search_index.refresh(providers)
    return providers


@pytest.mark.parametrize("sort", ["rating", "best", "distance"])
@pytest.mark.parametrize("params", [{"specialty": "207X00000X"}, {"specialty": "207X00000X", "min_rating": "3"}, {}])
def test_a_dense_area_gives_the_exact_page_with_a_capped_count(client, crowded, monkeypatch, sort, params):
    from carepath.directory import search

    def pages(n):
        return [api(client, near="10001", radius=40, sort=sort, page=page, **params).json() for page in (1, 2, 3, 4)]

    exact = pages(0)
    monkeypatch.setattr(search, "COUNT_CAP_ROWS", 12)
    capped = pages(1)
    for number, (exact_page, capped_page) in enumerate(zip(exact, capped, strict=True)):
        assert [r["npi"] for r in capped_page["results"]] == [r["npi"] for r in exact_page["results"]]
        assert [r["distance_miles"] for r in capped_page["results"]] == [
            r["distance_miles"] for r in exact_page["results"]
        ]
        assert not exact_page["count_capped"]
        if capped_page["count_capped"]:
            # A lower bound, but never below the providers this page and the ones before it have shown.
            assert number * 20 + len(capped_page["results"]) <= capped_page["count"] <= exact_page["count"]
        else:
            assert capped_page["count"] == exact_page["count"]
    if sort in ("rating", "best") and params == {"specialty": "207X00000X"}:
        assert capped[0]["count_capped"], "the first page of a dense area comes from the rating-ordered walk"


def test_the_page_says_at_least_when_the_count_is_capped(client, crowded, monkeypatch):
    from carepath.directory import search

    monkeypatch.setattr(search, "COUNT_CAP_ROWS", 12)
    response = client.get(
        "/find-a-doctor/", {"specialty": "207X00000X", "near": "10001", "radius": 40, "sort": "rating"}
    )
    assert response.status_code == 200
    assert "At least" in response.content.decode()


def test_by_distance_a_dense_area_is_sorted_within_a_smaller_circle(client, real_only, monkeypatch):
    from carepath.directory import search

    for _ in range(25):
        make_provider(zip5="10001")
    for _ in range(30):
        make_provider(zip5="06901")  # Stamford, CT: about 35 miles away

    def pages():
        return [api(client, near="10001", radius=100, sort="distance", page=page).json() for page in (1, 2)]

    exact = pages()
    monkeypatch.setattr(search, "COUNT_CAP_ROWS", 40)
    capped = pages()
    for exact_page, capped_page in zip(exact, capped, strict=True):
        assert [r["npi"] for r in capped_page["results"]] == [r["npi"] for r in exact_page["results"]]
    assert exact[0]["count"] == 55 and not exact[0]["count_capped"]
    # Page 1: the 30-mile circle holds 25 providers, enough for the page; page 2 needs everyone sorted.
    assert capped[0]["count_capped"] and capped[0]["count"] >= 20
    assert not capped[1]["count_capped"] and capped[1]["count"] == 55
