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
