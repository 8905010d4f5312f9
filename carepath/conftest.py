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
    # Rate limits live in the cache: every test starts with none used; and the search's taxonomy codes and the
    # copies of content data are read again (a test's rolled-back rows must not outlive it).
    from carepath.core.copies import forget
    from carepath.directory.search import forget_taxonomies

    cache.clear()
    forget_taxonomies()
    forget()
    yield
    cache.clear()
    forget_taxonomies()
    forget()


@pytest.fixture
def guide(db):
    from carepath.conditions.models import ConditionPage

    return ConditionPage.objects.get(slug="muscle-atrophy")


@pytest.fixture
def smtp(settings):
    """A real SMTP server on loopback, and Django's SMTP backend pointed at it; yields its inbox."""
    from aiosmtpd.controller import Controller

    from carepath.testing import Inbox, free_port

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield inbox
    controller.stop()
