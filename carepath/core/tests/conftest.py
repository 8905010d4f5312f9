"""Fixtures of the page cache and content copies tests: the cache backend (real Redis, then local memory) and
committed transactions."""

import uuid

import pytest
import redis
from django.core.cache import caches

from carepath.testing import TEST_REDIS_URL


@pytest.fixture(params=["redis", "locmem"])
def backend(request, settings, tmp_path):
    prefix = f"test-{uuid.uuid4().hex}"  # keys of this test's own: other suites may share the Redis database
    if request.param == "redis":
        redis_cache = "django.core.cache.backends.redis.RedisCache"
        pages = {"BACKEND": redis_cache, "LOCATION": TEST_REDIS_URL, "KEY_PREFIX": prefix}
    else:
        pages = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": prefix}
    settings.CACHES = {**settings.CACHES, "pages": pages}
    settings.PAGE_CACHE_ENABLED = True
    settings.PAGE_CACHE_GENERATION_DIR = tmp_path / "generations"
    yield request.param
    if request.param == "redis":
        client = redis.Redis.from_url(TEST_REDIS_URL)
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
    else:
        caches["pages"].clear()


@pytest.fixture
def commits(django_capture_on_commit_callbacks):
    """Run the on-commit invalidations the way a committed transaction would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def review_guide(guide, django_user_model):
    """review_guide(username, name): the guide published with a Medical review approval by a new reviewer (a page's
    review record comes from the approval of the revision published); returns the reviewer."""
    from datetime import date

    from carepath.editorial.models import MedicalReview, MedicalReviewer

    def review(username, name):
        user = django_user_model.objects.create_user(username, password="unused-password-1")
        reviewer = MedicalReviewer.objects.create(user=user, name=name, credentials="MD")
        revision = guide.save_revision()
        MedicalReview.objects.create(
            page=guide,
            revision=revision,
            reviewer=reviewer,
            reviewed_on=date(2026, 1, 5),
            next_review_due=date(2027, 1, 5),
        )
        revision.publish()
        return reviewer

    return review
