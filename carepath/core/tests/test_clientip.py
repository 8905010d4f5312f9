"""The client address behind proxies (carepath.core.clientip), as rate limits and request logs use it."""

from carepath.core.clientip import client_ip


def meta(forwarded=None, remote="10.0.0.2"):
    values = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        values["HTTP_X_FORWARDED_FOR"] = forwarded
    return values


def test_without_trusted_proxies_the_header_is_ignored():
    assert client_ip(meta("203.0.113.9"), proxies=0) == "10.0.0.2"


def test_one_proxy_its_appended_entry_counts_and_the_clients_own_do_not():
    assert client_ip(meta("203.0.113.9"), proxies=1) == "203.0.113.9"
    assert client_ip(meta("1.2.3.4, 203.0.113.9"), proxies=1) == "203.0.113.9"


def test_two_proxies_the_entry_the_outer_one_appended():
    assert client_ip(meta("1.2.3.4, 203.0.113.9, 198.51.100.3"), proxies=2) == "203.0.113.9"


def test_missing_short_or_malformed_headers_fall_back_to_the_connection():
    assert client_ip(meta(), proxies=1) == "10.0.0.2"
    assert client_ip(meta("203.0.113.9"), proxies=2) == "10.0.0.2"
    assert client_ip(meta("not-an-address"), proxies=1) == "10.0.0.2"
    assert client_ip(meta(" 2001:db8::1 "), proxies=1) == "2001:db8::1"


def test_settings_give_the_default(settings):
    settings.TRUSTED_PROXIES = 1
    assert client_ip(meta("203.0.113.9")) == "203.0.113.9"
    settings.TRUSTED_PROXIES = 0
    assert client_ip(meta("203.0.113.9")) == "10.0.0.2"
