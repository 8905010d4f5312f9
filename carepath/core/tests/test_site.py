import pytest
from django.db import connection


@pytest.mark.django_db
def test_healthz_answers_when_the_database_does(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db
def test_healthz_reports_a_database_that_does_not_answer(client, monkeypatch):
    from django.db.utils import OperationalError

    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "error"


@pytest.mark.django_db
def test_home_lists_guides_and_slideshows(client):
    html = client.get("/").content.decode()
    assert 'href="/conditions/muscle-atrophy/"' in html
    assert 'href="/slideshows/rheumatoid-arthritis-myths/"' in html


@pytest.mark.django_db
def test_terms_page_and_footer(client):
    response = client.get("/terms/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Terms of use</h1>" in html
    assert "not medical advice" in html.lower()
    assert 'href="/terms/"' in html  # the footer links it from every page
    assert "&copy;" in html


@pytest.mark.django_db
def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/conditions/no-such-condition/")
    assert response.status_code == 404
    assert "can't find that page" in response.content.decode()


@pytest.mark.django_db
def test_sitemap_lists_guides(client):
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    assert "/conditions/muscle-atrophy/" in response.content.decode()
