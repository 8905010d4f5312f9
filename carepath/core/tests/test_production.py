"""Production settings: `check --deploy`, security headers, readiness, the query budget of a guide page."""

import os
import secrets
import subprocess
import sys

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from carepath.core.pagecache import invalidate
from carepath.serve import production_environment, server_command
from carepath.testing import free_port

GUIDE = "/conditions/muscle-atrophy/"
# Every query an uncached guide page costs: none. The page and everything it shows (site, routing, view
# restrictions, its references, reviewers and specialties, related reading, up next, glossary, image, page links)
# come from the process's copies of content data (core/copies.py), built again after any content change: the first
# render after one costs GUIDE_QUERIES_AFTER_A_CHANGE. A change that adds a query must change these numbers on purpose.
GUIDE_QUERIES = 0
GUIDE_QUERIES_AFTER_A_CHANGE = 20


def carepath_command(*args, env):
    return subprocess.run(
        [sys.executable, "-m", "carepath.manage", *args], env=env, capture_output=True, text=True, timeout=120
    )


def production_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(DEBUG="false", SECRET_KEY=secrets.token_urlsafe(64), ALLOWED_HOSTS="health.example.org")
    env.update(CAREPATH_VAR_DIR=str(tmp_path), **extra)
    return env


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = carepath_command("check", "--deploy", "--fail-level", "WARNING", env=production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    behind_proxy = production_env(tmp_path, BEHIND_TLS_PROXY="true", REDIS_URL="redis://127.0.0.1:6379/4")
    result = carepath_command("check", "--deploy", "--fail-level", "WARNING", env=behind_proxy)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = production_env(tmp_path, SECRET_KEY="")
    result = carepath_command("check", env=env)
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_make_serve_environment_and_server(tmp_path):
    env = production_environment({"CAREPATH_VAR_DIR": str(tmp_path), "HOST": "0.0.0.0", "PORT": "9001"})
    assert env["DEBUG"] == "false" and len(env["SECRET_KEY"]) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # readable by its owner only
    assert production_environment({"CAREPATH_VAR_DIR": str(tmp_path)})["SECRET_KEY"] == env["SECRET_KEY"]
    assert env["ALLOWED_HOSTS"] == "0.0.0.0,127.0.0.1,localhost" and env["BEHIND_TLS_PROXY"] == "true"
    assert "--host" in server_command(env) and "9001" in server_command(env)
    assert "granian" in server_command(env)[0]
    assert "gunicorn" in server_command({**env, "SERVER": "gunicorn"})[0]


@pytest.mark.django_db
def test_security_headers_on_a_public_page(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = Client().get(GUIDE, headers={"x-forwarded-proto": "https"})
    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    policy = dict(d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";"))
    assert policy["frame-ancestors"] == "'none'"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'" and policy["default-src"] == "'self'"
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    # Nothing inline for the policy to block: no inline script (JSON-LD is data), no style attribute or element.
    html = response.content.decode()
    assert '<script type="application/ld+json">' in html
    assert html.count("<script") == html.count('<script type="application/ld+json">') + html.count("<script src=")
    assert " style=" not in html and "<style" not in html and " onclick=" not in html


@pytest.mark.django_db
def test_profile_page_has_no_inline_style(client):
    from carepath.directory.models import Provider

    provider = Provider.objects.filter(active=True, rating_count__gt=0).first()
    html = client.get(f"/find-a-doctor/{provider.npi}/").content.decode()
    assert "<progress" in html and " style=" not in html


@pytest.mark.django_db
def test_readyz_answers_when_database_and_cache_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}


@pytest.mark.django_db
def test_readyz_is_503_when_the_cache_does_not_answer(client, settings):
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        },
    }
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "ok" and response.json()["cache"] != "ok"


@pytest.mark.django_db
def test_csrf_token_endpoint_is_never_cached(client):
    response = client.get("/csrf-token")
    assert response.status_code == 200 and len(response.json()["token"]) >= 32
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    assert "csrftoken" in response.cookies


@pytest.mark.django_db
def test_an_uncached_guide_page_costs_a_fixed_number_of_queries(client, settings, tmp_path):
    settings.PAGE_CACHE_GENERATION_DIR = tmp_path  # the counters as files: invalidate() below bumps this test's own
    client.get(GUIDE)  # per-process warm-up (content types, site root paths) is not the page's cost
    with CaptureQueriesContext(connection) as queries:
        response = client.get(GUIDE)
    assert response.status_code == 200
    assert len(queries) == GUIDE_QUERIES, "\n".join(q["sql"][:160] for q in queries.captured_queries)
    invalidate("content")  # what any publish, unpublish or glossary edit does, in whichever process made it
    with CaptureQueriesContext(connection) as queries:
        again = client.get(GUIDE)
    assert again.content == response.content
    assert len(queries) == GUIDE_QUERIES_AFTER_A_CHANGE, "\n".join(q["sql"][:160] for q in queries.captured_queries)
