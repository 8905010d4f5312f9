import pytest
from django.core.cache import cache
from django.core.management import call_command


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database holds the demo library once; each test's changes roll back."""
    with django_db_blocker.unblock():
        call_command("load_demo", verbosity=0)


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Rate limits live in the cache: every test starts with none used.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def guide(db):
    from carepath.conditions.models import ConditionPage

    return ConditionPage.objects.get(slug="muscle-atrophy")
