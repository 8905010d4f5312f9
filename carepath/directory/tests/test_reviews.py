"""Ratings and reviews end to end: submit, confirm by an e-mailed link (real SMTP server), moderate, count."""

import re

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from carepath.directory.models import Provider, ProviderReview
from carepath.directory.reviews import approve_review, reject_review
from carepath.directory.tests.factories import make_provider
from carepath.testing import wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider():
    return make_provider()


@pytest.fixture
def moderator():
    group = Group.objects.create(name="Review moderators")
    group.permissions.add(
        Permission.objects.get(codename="change_providerreview"), Permission.objects.get(codename="access_admin")
    )
    user = User.objects.create_user("moderator", "mod@example.org", "pw")
    user.groups.add(group)
    client = Client()
    client.force_login(user)
    return client


def submit(client, provider, ip="127.0.0.1", **data):
    form = {"stars": "4", "text": "", "display_name": "", "email": "pat@example.org", "attested_visit": "on"}
    form.update(data)
    return client.post(f"/find-a-doctor/{provider.npi}/review/", form, REMOTE_ADDR=ip)


def confirm_link(message):
    return re.search(r"http://testserver(/find-a-doctor/reviews/confirm/[^/\s]+/)", message.get_payload()).group(1)


def test_review_end_to_end(client, smtp, provider, moderator):
    response = submit(client, provider, stars="2", text="Long wait, <b>rushed</b> visit.", email="Pat@Example.org")
    assert response.status_code == 200
    assert "Check your email" in response.content.decode()
    review = ProviderReview.objects.get(provider=provider)
    assert review.status == ProviderReview.UNCONFIRMED

    [(rcpt, message)] = wait_for(smtp, 1)
    assert rcpt == ["Pat@Example.org"]
    link = confirm_link(message)
    assert client.get(link).status_code == 200  # opening the link alone confirms nothing
    review.refresh_from_db()
    assert review.status == ProviderReview.UNCONFIRMED
    assert client.post(link).status_code == 302
    review.refresh_from_db()
    assert review.status == ProviderReview.PENDING
    provider.refresh_from_db()
    assert provider.rating_count == 0  # not counted before moderation

    queue = moderator.get("/admin/review-moderation/").content.decode()
    assert "Long wait" in queue
    assert moderator.post(f"/admin/review-moderation/{review.pk}/", {"decision": "approve"}).status_code == 302
    provider.refresh_from_db()
    assert (provider.rating_count, provider.rating_average) == (1, 2.0)

    profile = client.get(f"/find-a-doctor/{provider.npi}/").content.decode()
    assert "Long wait, &lt;b&gt;rushed&lt;/b&gt; visit." in profile  # shown as text, never as HTML
    assert "2.0 out of 5" in profile and "pat@example.org" not in profile.lower()


def test_a_new_review_replaces_the_old_one_from_the_same_address(client, smtp, provider):
    submit(client, provider, stars="5")
    first = ProviderReview.objects.get(provider=provider)
    client.post(confirm_link(wait_for(smtp, 1)[0][1]))
    approve_review(first)
    provider.refresh_from_db()
    assert provider.rating_count == 1 and provider.rating_sum == 5

    submit(client, provider, stars="1", email="PAT@example.org")
    client.post(confirm_link(wait_for(smtp, 2)[1][1]))
    assert not ProviderReview.objects.filter(pk=first.pk).exists()
    provider.refresh_from_db()
    assert provider.rating_count == 0  # the old one no longer counts; the new one waits for moderation
    approve_review(ProviderReview.objects.get(provider=provider))
    provider.refresh_from_db()
    assert (provider.rating_count, provider.rating_sum) == (1, 1)


def test_reject_needs_a_reason_and_uncounts_a_published_review(provider):
    review = ProviderReview.objects.create(
        provider=provider,
        email="a@example.org",
        stars=5,
        token="t1",
        status=ProviderReview.PENDING,
        attested_visit=True,
    )
    approve_review(review)
    with pytest.raises(ValueError, match="needs a reason"):
        reject_review(review, "  ")
    reject_review(review, "Describes a different clinic.")
    review.refresh_from_db()
    provider.refresh_from_db()
    assert review.status == ProviderReview.REJECTED and review.rejection_reason == "Describes a different clinic."
    assert provider.rating_count == 0 and provider.rating_score == pytest.approx(3.5)


def test_unconfirmed_reviews_cannot_be_published(provider, moderator):
    review = ProviderReview.objects.create(
        provider=provider, email="a@example.org", stars=1, token="t2", attested_visit=True
    )
    moderator.post(f"/admin/review-moderation/{review.pk}/", {"decision": "approve"})
    review.refresh_from_db()
    assert review.status == ProviderReview.UNCONFIRMED


@pytest.mark.parametrize("who", ["anonymous", "editor_without_permission"])
def test_only_moderators_moderate(client, provider, who):
    review = ProviderReview.objects.create(
        provider=provider,
        email="a@example.org",
        stars=3,
        token="t3",
        status=ProviderReview.PENDING,
        attested_visit=True,
    )
    if who != "anonymous":
        user = User.objects.create_user("editor", "e@example.org", "pw")
        user.user_permissions.add(Permission.objects.get(codename="access_admin"))
        client.force_login(user)
    response = client.post(f"/admin/review-moderation/{review.pk}/", {"decision": "approve"})
    # Wagtail's admin answers a refused request by sending the user to log in or to the dashboard.
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/" if who == "anonymous" else "/admin/")
    review.refresh_from_db()
    provider.refresh_from_db()
    assert review.status == ProviderReview.PENDING and provider.rating_count == 0


@pytest.mark.parametrize(
    "data, message",
    [
        ({"attested_visit": ""}, "confirm that you were seen"),
        ({"stars": "6"}, "Select a valid choice"),
        ({"stars": ""}, "Choose from 1 to 5 stars"),
        ({"email": "a@example.org, b@example.org"}, "Enter a valid email address"),
        ({"text": "x" * 2001}, "at most 2000 characters"),
    ],
)
def test_bad_reviews_are_refused_with_a_message(client, smtp, provider, data, message):
    response = submit(client, provider, **data)
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not provider.reviews.exists() and wait_for(smtp, 1, seconds=0.3) == []


def test_rate_limited_per_ip_and_per_address(client, smtp, provider, settings):
    settings.REVIEW_RATE = "3/h"
    for n in range(3):
        assert submit(client, provider, email=f"p{n}@example.org", ip="192.0.2.1").status_code == 200
    assert submit(client, provider, email="p9@example.org", ip="192.0.2.1").status_code == 429
    for n in range(3):
        other = make_provider()
        assert submit(client, other, email="same@example.org", ip=f"198.51.100.{n}").status_code == 200
    response = submit(client, provider, email="same@example.org", ip="198.51.100.50")
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many reviews" in html and f'href="/find-a-doctor/{provider.npi}/"' in html
    assert 'name="stars"' not in html  # the short refusal page, not the profile and its form again
    assert 0 < int(response["Retry-After"]) <= 3600
    assert ProviderReview.objects.filter(email="same@example.org", provider=provider).count() == 0


def test_negative_reviews_are_published_like_any_other(provider):
    review = ProviderReview.objects.create(
        provider=provider,
        email="a@example.org",
        stars=1,
        token="t4",
        text="Dismissive and late.",
        status=ProviderReview.PENDING,
        attested_visit=True,
    )
    approve_review(review)
    assert Provider.objects.get(pk=provider.pk).rating_average == 1.0


def test_profile_shows_rating_distribution(client):
    p = make_provider(ratings=[5, 5, 4, 1])
    html = client.get(f"/find-a-doctor/{p.npi}/").content.decode()
    assert "3.75 out of 5" in html and "4 verified reviews" in html
    assert '<th scope="row">5 stars</th><td>2</td>' in html
    assert '<th scope="row">1 star</th><td>1</td>' in html


def test_synthetic_providers_say_so(client):
    demo = Provider.objects.filter(is_synthetic=True).first()
    html = client.get(f"/find-a-doctor/{demo.npi}/").content.decode()
    assert "Synthetic demo provider." in html


def test_unknown_or_malformed_npi_is_404(client):
    assert client.get("/find-a-doctor/1234567893/").status_code == 404
    assert client.get("/find-a-doctor/abc/").status_code == 404
