"""Share by email, end to end through a real SMTP server (aiosmtpd) listening on loopback."""

import time

import pytest
from django.test import Client

from carepath.testing import free_port, wait_for

pytestmark = pytest.mark.django_db
SHARE_URL = "/conditions/muscle-atrophy/share/"


def csrf_client():
    """A browser-like client: CSRF enforced, token fetched on demand as site.js does (cached pages carry none)."""
    client = Client(enforce_csrf_checks=True)
    token = client.get("/csrf-token").json()["token"]
    return client, token


def share(client, token, ip="127.0.0.1", **data):
    return client.post(SHARE_URL, {"csrfmiddlewaretoken": token, **data}, REMOTE_ADDR=ip)


def test_share_sends_one_fixed_email_through_smtp(smtp):
    client, token = csrf_client()
    response = share(client, token, recipient="aunt.may@example.org", note="Thought of you when I read this.")
    assert response.status_code == 302
    assert response["Location"] == "/conditions/muscle-atrophy/#share"
    [(rcpt, message)] = wait_for(smtp, 1)
    assert rcpt == ["aunt.may@example.org"]
    assert message["Subject"] == "Muscle atrophy (CarePath)"
    body = message.get_payload(decode=True).decode()
    assert "http://testserver/conditions/muscle-atrophy/" in body
    assert "Muscle atrophy means muscles shrink" in body
    assert "Thought of you when I read this." in body
    page = client.get(response["Location"]).content.decode()
    assert "Sent. We emailed a link to this page." in page


@pytest.mark.parametrize(
    "recipient, message",
    [
        ("a@example.org, b@example.org", "Enter one email address"),
        ("a@example.org;b@example.org", "Enter one email address"),
        ("a@example.org b@example.org", "Enter one email address"),
        ("", "This field is required."),
        ("not-an-address", "Enter one email address"),
    ],
)
def test_refuses_anything_but_one_address(smtp, recipient, message):
    client, token = csrf_client()
    response = share(client, token, recipient=recipient)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert wait_for(smtp, 1, seconds=0.5) == []


@pytest.mark.parametrize(
    "field, value",
    [
        ("recipient", "victim@example.org\r\nBcc: everyone@example.org"),
        ("recipient", "victim@example.org\nSubject: spam"),
        ("note", "hello\r\nBcc: everyone@example.org"),
        ("note", "line one\nline two"),
    ],
)
def test_header_injection_is_refused_and_nothing_is_sent(smtp, field, value):
    client, token = csrf_client()
    data = {"recipient": "friend@example.org", "note": "", field: value}
    response = share(client, token, **data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Line breaks are not allowed" in html or "Enter one email address" in html
    assert wait_for(smtp, 1, seconds=0.5) == []


def test_note_over_500_characters_is_refused(smtp):
    client, token = csrf_client()
    response = share(client, token, recipient="friend@example.org", note="x" * 501)
    assert response.status_code == 400
    assert "500 characters or fewer" in response.content.decode()
    assert wait_for(smtp, 1, seconds=0.5) == []


def test_missing_csrf_token_is_refused(smtp):
    client = Client(enforce_csrf_checks=True)
    response = client.post(SHARE_URL, {"recipient": "friend@example.org"})
    assert response.status_code == 403
    assert wait_for(smtp, 1, seconds=0.5) == []


def test_forged_csrf_token_is_refused(smtp):
    client, _ = csrf_client()
    response = share(client, "forged" * 8, recipient="friend@example.org")
    assert response.status_code == 403
    assert wait_for(smtp, 1, seconds=0.5) == []


def test_get_is_not_allowed(client):
    assert client.get(SHARE_URL).status_code == 405


def test_rate_limited_per_session(smtp, settings):
    settings.SHARE_RATE = "5/h"
    client, token = csrf_client()
    for n in range(5):
        # A different address each time, so only the session ties them together.
        assert share(client, token, recipient=f"friend{n}@example.org", ip=f"10.0.0.{n + 1}").status_code == 302
    response = share(client, token, recipient="one.more@example.org", ip="10.0.0.99")
    assert response.status_code == 429
    # A short page, not the guide again: what happened, when to come back (Retry-After too), the way back.
    html = response.content.decode()
    assert "try again in about" in html and "did not send this one" in html
    assert 0 < int(response["Retry-After"]) <= 3600
    assert 'href="/conditions/muscle-atrophy/"' in html and 'id="share"' not in html
    assert "no-store" in response["Cache-Control"]
    assert len(wait_for(smtp, 5)) == 5
    time.sleep(0.3)
    assert len(smtp.messages) == 5


def test_rate_limited_per_client_ip(smtp, settings):
    settings.SHARE_RATE = "5/h"
    for n in range(5):
        client, token = csrf_client()  # a fresh session each time: only the IP ties them together
        assert share(client, token, recipient=f"friend{n}@example.org", ip="192.0.2.7").status_code == 302
    client, token = csrf_client()
    assert share(client, token, recipient="more@example.org", ip="192.0.2.7").status_code == 429
    client, token = csrf_client()
    assert share(client, token, recipient="more@example.org", ip="192.0.2.8").status_code == 302
    assert len(wait_for(smtp, 6)) == 6


def test_smtp_server_down_gives_a_clear_message(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    client, token = csrf_client()
    response = share(client, token, recipient="friend@example.org")
    assert response.status_code == 503
    assert "could not send the email just now" in response.content.decode()


def test_behind_a_proxy_each_client_address_has_its_own_limit(smtp, settings):
    """With TRUSTED_PROXIES = 1 every request comes from the proxy (REMOTE_ADDR 10.1.1.1); the limit follows the
    address the proxy appended to X-Forwarded-For, and an address the client wrote itself further left is ignored."""
    settings.SHARE_RATE, settings.TRUSTED_PROXIES = "2/h", 1

    def from_client(address, written_by_client=""):
        client, token = csrf_client()
        forwarded = f"{written_by_client}, {address}" if written_by_client else address
        return client.post(
            SHARE_URL,
            {"csrfmiddlewaretoken": token, "recipient": "friend@example.org"},
            REMOTE_ADDR="10.1.1.1",
            HTTP_X_FORWARDED_FOR=forwarded,
        ).status_code

    assert [from_client("203.0.113.5") for _ in range(2)] == [302, 302]
    assert from_client("203.0.113.5") == 429
    assert from_client("203.0.113.5", written_by_client="198.51.100.77") == 429  # a forged entry changes nothing
    assert from_client("203.0.113.6") == 302  # another reader behind the same proxy
    assert len(wait_for(smtp, 3)) == 3
