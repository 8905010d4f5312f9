"""The client's address, as rate limits and request logs see it.

Behind proxies (a load balancer, a CDN) every request comes from a proxy's address, so a limit per REMOTE_ADDR
would be one limit shared by everybody. With TRUSTED_PROXIES = n, the address is the n-th entry from the right of
X-Forwarded-For: each trusted proxy appends the address it was reached from, and entries further left are whatever
the client wrote, which nobody can check.
"""

import ipaddress

from django.conf import settings


def client_ip(meta, proxies=None):
    """From a request's META or a WSGI environ: the address of the client as the outermost trusted proxy saw it, or
    REMOTE_ADDR when no proxy is trusted or the header does not have the entries they would have added."""
    proxies = settings.TRUSTED_PROXIES if proxies is None else proxies
    remote = meta.get("REMOTE_ADDR", "")
    if not proxies:
        return remote
    entries = [entry.strip() for entry in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(entries) < proxies:
        return remote
    try:
        return str(ipaddress.ip_address(entries[-proxies]))
    except ValueError:
        return remote


def ratelimit_ip(request):
    """django-ratelimit's key="ip" (settings.RATELIMIT_IP_META_KEY)."""
    return client_ip(request.META)
