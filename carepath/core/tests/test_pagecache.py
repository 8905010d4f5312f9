"""The page cache in front of Django, driven through WSGI exactly as a server calls it, on real Redis and in memory."""

import re
import time

import pytest
from django.core import signals
from django.core.cache import caches
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections

from carepath.core.pagecache import PageCacheMiddleware
from carepath.testing import WSGIClient

pytestmark = pytest.mark.django_db
GUIDE = "/conditions/muscle-atrophy/"


@pytest.fixture
def django_runs():
    """How many requests reached Django (a hit must reach none)."""
    seen = []

    def count(**kwargs):
        seen.append(1)

    # As Django's own test client does: a request must not close the test's transaction's connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    signals.request_started.connect(count)
    yield seen
    signals.request_started.disconnect(count)
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def wsgi(backend, django_runs):
    return WSGIClient(PageCacheMiddleware(WSGIHandler()))


def assert_nothing_personal(response):
    assert not response.cookies(), response.cookies()
    assert not re.search(r'name="csrfmiddlewaretoken" value="[^"]', response.text)
    assert "flash" not in response.text
    assert "sessionid" not in response.text


@pytest.mark.parametrize(
    "path",
    [
        GUIDE,
        "/conditions/",
        "/slideshows/",
        "/slideshows/rheumatoid-arthritis-myths/",
        "/slideshows/rheumatoid-arthritis-myths/2/",
        "/",
    ],
)
def test_anonymous_pages_are_stored_then_served_without_django(wsgi, django_runs, path):
    first = wsgi.get(path)
    assert first.status_code == 200
    assert first.header("X-Page-Cache") == "miss"
    assert first.header("Cache-Control").startswith("public, max-age=0, must-revalidate")
    assert first.header("X-Carepath-Page-Cache") is None  # the internal mark never leaves
    assert_nothing_personal(first)
    assert len(django_runs) == 1

    second = wsgi.get(path)
    assert second.status_code == 200
    assert second.header("X-Page-Cache") == "hit"
    assert second.body == first.body
    assert second.header("ETag") == first.header("ETag")
    assert second.header("Content-Security-Policy") == first.header("Content-Security-Policy")
    assert len(django_runs) == 1  # the hit never reached Django


def test_provider_profile_is_cached(wsgi, django_runs):
    from carepath.directory.models import Provider

    npi = Provider.objects.filter(active=True).values_list("npi", flat=True).first()
    first = wsgi.get(f"/find-a-doctor/{npi}/")
    assert first.status_code == 200
    assert_nothing_personal(first)
    assert 'action="/find-a-doctor/' in first.text and "data-csrf" in first.text
    assert wsgi.get(f"/find-a-doctor/{npi}/").header("X-Page-Cache") == "hit"
    assert len(django_runs) == 1


def test_etag_revalidation_answers_304_from_the_cache(wsgi, django_runs):
    etag = wsgi.get(GUIDE).header("ETag")
    assert etag
    # On the storing response too: a browser revalidating the first copy it got.
    not_modified = wsgi.get(GUIDE, HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304
    assert not_modified.body == b""
    assert not_modified.header("ETag") == etag
    assert len(django_runs) == 1
    assert wsgi.get(GUIDE, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200
    head = wsgi.request("HEAD", GUIDE)
    assert head.status_code == 200 and head.body == b"" and head.header("X-Page-Cache") == "hit"


def test_key_is_host_scheme_path_and_query(wsgi):
    wsgi.get(GUIDE)
    assert wsgi.get(GUIDE, query="utm_source=x").header("X-Page-Cache") == "miss"
    assert wsgi.get(GUIDE, HTTP_X_FORWARDED_PROTO="https").header("X-Page-Cache") == "miss"
    assert wsgi.get(GUIDE, HTTP_HOST="localhost").header("X-Page-Cache") == "miss"
    assert wsgi.get(GUIDE).header("X-Page-Cache") == "hit"


def test_readers_with_a_session_are_never_served_or_stored(wsgi, django_runs):
    wsgi.get(GUIDE)
    wsgi.cookies["sessionid"] = "abc"
    response = wsgi.get(GUIDE)
    assert response.status_code == 200 and response.header("X-Page-Cache") is None
    assert len(django_runs) == 2
    wsgi.cookies.pop("sessionid")
    wsgi.cookies["messages"] = "x"
    assert wsgi.get(GUIDE).header("X-Page-Cache") is None


@pytest.mark.parametrize(
    "path", ["/find-a-doctor/", "/find-a-doctor/?near=10001", "/healthz", "/readyz", "/csrf-token"]
)
def test_personal_and_live_answers_are_never_stored(wsgi, django_runs, path):
    path, _, query = path.partition("?")
    wsgi.get(path, query)
    wsgi.cookies.clear()
    assert wsgi.get(path, query).header("X-Page-Cache") is None
    assert len(django_runs) == 2


def test_a_share_refusal_is_not_stored_and_carries_its_own_token(wsgi, django_runs):
    wsgi.get(GUIDE)
    refused = wsgi.post(GUIDE + "share/", {"recipient": "not an address"})
    # No token yet (JavaScript off): the form comes back filled in, with a token, to send again.
    assert refused.status_code == 403
    assert 'value="not an address"' in refused.text
    assert re.search(r'name="csrfmiddlewaretoken" value="[^"]+"', refused.text)
    assert wsgi.get(GUIDE).header("X-Page-Cache") == "hit"  # the cached copy still has no token


def test_share_without_javascript_takes_one_more_click(wsgi, smtp):
    from carepath.testing import wait_for

    page = wsgi.get(GUIDE)
    assert re.search(r'name="csrfmiddlewaretoken" value=""', page.text)
    again = wsgi.post(GUIDE + "share/", {"recipient": "aunt.may@example.org", "note": "For you"})
    assert again.status_code == 403
    assert "please check the form and send it again" in again.text
    assert wait_for(smtp, 1, seconds=0.3) == []  # nothing was sent on the tokenless request
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', again.text).group(1)
    sent = wsgi.post(GUIDE + "share/", {"csrfmiddlewaretoken": token, "recipient": "aunt.may@example.org", "note": ""})
    assert sent.status_code == 302
    [(rcpt, _)] = wait_for(smtp, 1)
    assert rcpt == ["aunt.may@example.org"]
    # The reader now has a session (rate limit, flash message): Django answers them, and shows "Sent".
    follow = wsgi.get(GUIDE)
    assert follow.header("X-Page-Cache") is None
    assert "Sent. We emailed a link" in follow.text


def test_share_with_a_token_fetched_on_demand(wsgi, smtp):
    """What site.js does: GET /csrf-token, then send the form with it."""
    from carepath.testing import wait_for

    wsgi.get(GUIDE)
    token = wsgi.get("/csrf-token").text.split('"token": "')[1].split('"')[0]
    sent = wsgi.post(GUIDE + "share/", {"csrfmiddlewaretoken": token, "recipient": "uncle@example.org", "note": ""})
    assert sent.status_code == 302
    assert len(wait_for(smtp, 1)) == 1


def test_review_without_javascript_takes_one_more_click(wsgi, smtp):
    from carepath.directory.models import Provider, ProviderReview
    from carepath.testing import wait_for

    provider = Provider.objects.filter(active=True).first()
    form = {"stars": "4", "text": "Kind.", "display_name": "", "email": "r@example.org", "attested_visit": "on"}
    again = wsgi.post(f"/find-a-doctor/{provider.npi}/review/", form)
    assert again.status_code == 403
    assert "please check the form and send it again" in again.text
    assert not ProviderReview.objects.filter(provider=provider, email="r@example.org").exists()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', again.text).group(1)
    sent = wsgi.post(f"/find-a-doctor/{provider.npi}/review/", {**form, "csrfmiddlewaretoken": token})
    assert sent.status_code == 200 and "Check your email" in sent.text
    assert len(wait_for(smtp, 1)) == 1


def publish(page):
    page.save_revision().publish()


def test_publishing_a_guide_invalidates_it_its_index_and_pages_linking_it(wsgi, commits, guide):
    from carepath.conditions.models import ConditionPage

    linking = (
        ConditionPage.objects.live().filter(up_next=guide).first()
        or ConditionPage.objects.live().exclude(pk=guide.pk).first()
    )
    if linking.up_next_id != guide.pk:
        linking.up_next = guide
        publish(linking)
    paths = [GUIDE, "/conditions/", linking.url, "/"]
    for path in paths:
        wsgi.get(path)
        assert wsgi.get(path).header("X-Page-Cache") == "hit"
    with commits():
        guide.title = "Muscle wasting (atrophy)"
        publish(guide)
    for path in paths:
        response = wsgi.get(path)
        assert response.header("X-Page-Cache") == "miss", path
        assert "Muscle wasting (atrophy)" in response.text, path


def test_unpublishing_a_guide_takes_it_off_its_index(wsgi, commits, guide):
    assert GUIDE in wsgi.get("/conditions/").text
    wsgi.get(GUIDE)
    with commits():
        guide.unpublish()
    assert wsgi.get(GUIDE).status_code == 404
    assert GUIDE not in wsgi.get("/conditions/").text


def test_a_change_to_a_medical_reviewer_reaches_the_pages_naming_them(wsgi, commits, review_guide):
    with commits():
        reviewer = review_guide("cache-reviewer", "Test Reviewer")
    assert "Test Reviewer, MD" in wsgi.get(GUIDE).text
    assert wsgi.get(GUIDE).header("X-Page-Cache") == "hit"
    with commits():
        reviewer.credentials = "MD, FACS"
        reviewer.save()
    response = wsgi.get(GUIDE)
    assert response.header("X-Page-Cache") == "miss"
    assert "Test Reviewer, MD, FACS" in response.text


def test_moderation_decisions_reach_the_provider_profile(wsgi, commits):
    from carepath.directory.models import Provider, ProviderReview
    from carepath.directory.reviews import approve_review, reject_review

    provider = Provider.objects.filter(active=True, rating_count=0).first() or Provider.objects.first()
    path = f"/find-a-doctor/{provider.npi}/"
    before = wsgi.get(path).text
    assert wsgi.get(path).header("X-Page-Cache") == "hit"
    with commits():
        review = ProviderReview.objects.create(
            provider=provider,
            stars=1,
            text="Waited three hours.",
            email="w@example.org",
            status=ProviderReview.PENDING,
            token="t-moderation",
        )
    assert "Waited three hours." not in wsgi.get(path).text  # pending reviews are not shown
    with commits():
        approve_review(review)
    published = wsgi.get(path)
    assert published.header("X-Page-Cache") == "miss"
    assert "Waited three hours." in published.text and published.text != before
    with commits():
        reject_review(review, "Names a member of staff")
    assert "Waited three hours." not in wsgi.get(path).text


def test_a_review_nobody_has_published_yet_leaves_cached_profiles_alone(wsgi, commits, smtp):
    from carepath.directory.models import Provider, ProviderReview
    from carepath.directory.reviews import approve_review, confirm_review

    provider = Provider.objects.filter(active=True).order_by("npi").last()
    path = f"/find-a-doctor/{provider.npi}/"
    wsgi.get(path)
    assert wsgi.get(path).header("X-Page-Cache") == "hit"
    token = wsgi.get("/csrf-token").text.split('"token": "')[1].split('"')[0]
    form = {"stars": "5", "text": "Listened carefully.", "email": "q@example.org", "attested_visit": "on"}
    with commits():
        sent = wsgi.post(path + "review/", {**form, "csrfmiddlewaretoken": token})
    assert sent.status_code == 200 and "Check your email" in sent.text
    assert wsgi.get(path).header("X-Page-Cache") == "hit"  # an unconfirmed review is on no page
    review = ProviderReview.objects.get(provider=provider, email="q@example.org")
    with commits():
        approve_review(confirm_review(review))
    published = wsgi.get(path)
    assert published.header("X-Page-Cache") == "miss" and "Listened carefully." in published.text


@pytest.mark.parametrize(
    "path, query",
    [("/search/", "q=muscle+atrophy"), ("/api/v1/search", "q=muscle+atrophy"), ("/search/", "")],
)
def test_search_answers_are_stored_briefly_and_retired_by_a_publish(wsgi, commits, guide, settings, path, query):
    first = wsgi.get(path, query)
    assert first.status_code == 200 and first.header("X-Page-Cache") == "miss"
    assert_nothing_personal(first)
    assert wsgi.get(path, query).header("X-Page-Cache") == "hit"
    assert ("s-maxage=60" in first.header("Cache-Control")) == bool(query)
    with commits():
        guide.title = "Muscle wasting (atrophy)"
        publish(guide)
    changed = wsgi.get(path, query)
    assert changed.header("X-Page-Cache") == "miss"
    assert ("Muscle wasting (atrophy)" in changed.text) == bool(query)
    settings.PAGE_CACHE_SEARCH_SECONDS = 1
    wsgi.get(path, "q=lupus")
    assert wsgi.get(path, "q=lupus").header("X-Page-Cache") == "hit"
    time.sleep(1.05)
    assert wsgi.get(path, "q=lupus").header("X-Page-Cache") == "miss"  # kept no longer than it was told


def test_provider_search_answers_are_stored_and_retired_by_a_moderation(wsgi, commits):
    from carepath.directory.models import Provider, ProviderReview
    from carepath.directory.reviews import approve_review

    query = "specialty=207X00000X&near=10001&sort=rating"
    first = wsgi.get("/api/v1/providers", query)
    assert first.status_code == 200 and first.header("X-Page-Cache") == "miss"
    assert wsgi.get("/api/v1/providers", query).header("X-Page-Cache") == "hit"
    npi = first.text.split('"npi": "')[1].split('"')[0]
    with commits():
        review = ProviderReview.objects.create(
            provider=Provider.objects.get(npi=npi), stars=5, text="Good.", email="m@example.org", token="t-api"
        )
        review.status = ProviderReview.PENDING
        review.save()
        approve_review(review)
    assert wsgi.get("/api/v1/providers", query).header("X-Page-Cache") == "miss"
    assert wsgi.get("/api/v1/providers", "specialty=207X00000X&near=bad").header("X-Page-Cache") is None  # a 400


def test_a_stale_generation_is_never_served_after_the_counter_is_lost(backend, settings, django_runs):
    settings.PAGE_CACHE_MAX_STALE_MS = 200
    wsgi = WSGIClient(PageCacheMiddleware(WSGIHandler()))
    wsgi.get(GUIDE)
    assert wsgi.get(GUIDE).header("X-Page-Cache") == "hit"
    if backend == "redis":
        # Evicted, or Redis restarted without its data: nobody bumped, so no notice; the bound still holds.
        caches["pages"].delete("pagecache:gen:content")
        time.sleep(0.25)
    else:
        (settings.PAGE_CACHE_GENERATION_DIR / "pagecache-content").unlink(missing_ok=True)
        from carepath.core.pagecache import invalidate

        invalidate("content")
    assert wsgi.get(GUIDE).header("X-Page-Cache") == "miss"


def test_a_cache_outage_falls_back_to_django(settings, django_runs, tmp_path):
    from carepath.testing import free_port

    settings.CACHES = {
        **settings.CACHES,
        "pages": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        },
    }
    settings.PAGE_CACHE_ENABLED = True
    client = WSGIClient(PageCacheMiddleware(WSGIHandler()))
    response = client.get(GUIDE)
    assert response.status_code == 200 and "Muscle atrophy" in response.text


def test_request_log_is_one_json_object(wsgi, caplog):
    import json
    import logging

    from pythonjsonlogger.json import JsonFormatter

    with caplog.at_level(logging.INFO, logger="carepath.request"):
        wsgi.get(GUIDE)
        wsgi.get(GUIDE)
    records = [r for r in caplog.records if r.name == "carepath.request"]
    assert [r.cache for r in records] == ["store", "hit"]
    line = json.loads(JsonFormatter("%(levelname)s %(name)s %(message)s").format(records[-1]))
    assert line["path"] == GUIDE and line["status"] == 200 and line["cache"] == "hit" and line["ms"] >= 0
