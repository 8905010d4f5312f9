import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from carepath.env import env_bool, env_int, env_list

GOOD_KEY = "k" * 20 + "abcdefghijklmnopqrstuvwxyz0123456789"


def run_python(code, env, dropped):
    """Run `code` in a fresh interpreter with the outside environment minus `dropped`, plus `env`."""
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    clean.update(env)
    return subprocess.run([sys.executable, "-c", code], env=clean, capture_output=True, text=True, timeout=120)


def start(**env):
    """Import the production settings in a fresh interpreter with exactly these variables."""
    return run_python("import carepath.settings", env, ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"))


def test_production_refuses_to_start_without_secret_key():
    result = start(ALLOWED_HOSTS="carepath.example.org")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_the_development_key():
    result = start(SECRET_KEY="insecure-development-key-do-not-use-in-production", ALLOWED_HOSTS="x.org")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = start(SECRET_KEY=GOOD_KEY)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must list" in result.stderr


def test_production_refuses_wildcard_hosts():
    result = start(SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS="*")
    assert result.returncode != 0
    assert "'*' is refused" in result.stderr


def test_production_starts_with_real_settings():
    result = start(SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS="carepath.example.org")
    assert result.returncode == 0, result.stderr


def test_debug_must_be_a_boolean():
    result = start(DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_env_helpers(monkeypatch):
    monkeypatch.setenv("X_BOOL", "Yes")
    monkeypatch.setenv("X_INT", "12")
    monkeypatch.setenv("X_LIST", "a.org, b.org,,")
    assert env_bool("X_BOOL") is True
    assert env_int("X_INT", 0) == 12
    assert env_list("X_LIST") == ["a.org", "b.org"]
    monkeypatch.setenv("X_INT", "twelve")
    with pytest.raises(ImproperlyConfigured, match="X_INT='twelve' is not a whole number"):
        env_int("X_INT", 0)


def test_email_url_configures_smtp(monkeypatch):
    env = {"DEBUG": "true", "EMAIL_URL": "smtp://mailer:s3cret@mail.example.org:2525"}
    code = (
        "from django.conf import settings as s; import carepath.settings as c; "
        "print(c.EMAIL_BACKEND, c.EMAIL_HOST, c.EMAIL_PORT, c.EMAIL_HOST_USER)"
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("EMAIL_URL",)}
    clean.update(env)
    result = subprocess.run([sys.executable, "-c", code], env=clean, capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == [
        "django.core.mail.backends.smtp.EmailBackend",
        "mail.example.org",
        "2525",
        "mailer",
    ], result.stderr


def wsgi_thresholds(**env):
    """gc.get_threshold() after importing the WSGI application in a fresh interpreter."""
    code = "import gc, carepath.wsgi; print(*gc.get_threshold(), gc.get_freeze_count() > 0)"
    return run_python(code, {"DEBUG": "true", "PAGE_CACHE": "false", **env}, ("SECRET_KEY", "GC_THRESHOLDS"))


def test_the_wsgi_server_tunes_the_garbage_collector():
    result = wsgi_thresholds()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["20000", "50", "100", "True"]  # start-up objects frozen too
    result = wsgi_thresholds(GC_THRESHOLDS="5000,20")
    assert result.stdout.split()[:2] == ["5000", "20"]
    result = wsgi_thresholds(GC_THRESHOLDS="")
    assert result.stdout.split() == ["700", "10", "10", "False"]  # CPython's own, nothing frozen


def test_bad_gc_thresholds_are_named():
    result = wsgi_thresholds(GC_THRESHOLDS="lots")
    assert result.returncode != 0
    assert "GC_THRESHOLDS takes up to three whole numbers" in result.stderr
