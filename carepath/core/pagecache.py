"""The page cache: a thin WSGI layer in front of Django that answers anonymous GET and HEAD requests for public pages
from the cache (Redis when REDIS_URL is set, local memory otherwise) without running Django's middleware stack.

What may be stored is decided inside Django, by the view: `mark_public(response, scopes)` opts a response in. The
layer then stores it only when it is a 200 to a GET that carried no session or message cookie and the response sets no
cookie, so a stored page can hold no CSRF token, session, flash message or anything else personal.

Invalidation is by generation counters, one per scope ("content": pages, reviewers, glossary; "directory": providers
and their reviews). An entry records the generations it was rendered under; a hit needs all of them to be current, so
one increment invalidates every page of that scope at once, including the indexes and related links that list a
changed page. The same counters say when the per-process copies of content data (core/copies.py) are stale, so
they are kept and bumped with the page cache off too.

With Redis (several app servers) the counters live in Redis, and a hit costs no round trip: each worker process reads
the counters at most every PAGE_CACHE_MAX_STALE_MS (1 s) and answers hits from what it read in between. An increment
is also published on a channel that a thread in every worker listens to; a notice makes the worker read the counters
again before its next answer, so a change usually reaches every worker within milliseconds. The interval is the bound
when a notice is lost (a listener reconnecting, Redis behind a proxy without pub/sub): no worker serves a page more
than PAGE_CACHE_MAX_STALE_MS after the increment that retired it. The process that increments reads again at once.
With local memory (one cache per process) the counters are files under the var directory, which every worker on the
machine reads (two `stat` calls) at most every PAGE_CACHE_MAX_STALE_MS too: the same bound, and the process that
bumps them reads again at once.
"""

import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.utils.http import parse_etags

from carepath.core.clientip import client_ip

MARK_HEADER = "X-Carepath-Page-Cache"
GENERATIONS_ENVIRON_KEY = "carepath.generations"  # a miss hands the counters it read on to Django (core/copies.py)
SCOPES = ("content", "directory")
PERSONAL_COOKIES = ("sessionid", "messages")
_PERSONAL_COOKIE_NAMES = tuple(f"{name}=" for name in PERSONAL_COOKIES)
# Browsers revalidate every time (cheap: a 304 from this layer), so a reader who just got a session (after sharing a
# page, say) sees the page Django renders for them; shared caches (a CDN) may keep a page a few minutes.
CACHE_CONTROL = "public, max-age=0, must-revalidate, s-maxage={s_maxage}"

log = logging.getLogger("carepath.request")


def mark_public(response, scopes=("content",), seconds=None):
    """Let the page cache store this response for anonymous readers, invalidated with the given scopes; with
    `seconds`, kept that long at most, for answers that also depend on something the scopes do not track (a search
    reads each process's copy of the vocabulary, which follows a change a moment later)."""
    response[MARK_HEADER] = " ".join(scopes) + (f";{seconds}" if seconds else "")
    shared = min(settings.PAGE_CACHE_SHARED_MAX_AGE, seconds or settings.PAGE_CACHE_SHARED_MAX_AGE)
    response["Cache-Control"] = CACHE_CONTROL.format(s_maxage=shared)
    return response


# Notices of bumps go to every process on the Redis server whatever its database or key prefix (pub/sub channels are
# server-wide); a notice says only "read the counters again", so one from another site costs a read and nothing else.
CHANNEL = "carepath:pagecache:bumps"


class CacheGenerations:
    """The current generation of each scope, shared by every process that serves the site."""

    def __init__(self, cache):
        self.cache = cache
        self.in_memory = cache.__class__.__name__ == "LocMemCache"
        self.directory = Path(settings.PAGE_CACHE_GENERATION_DIR)
        self.location = settings.CACHES[settings.PAGE_CACHE_ALIAS]["LOCATION"]
        self.max_stale = settings.PAGE_CACHE_MAX_STALE_MS / 1000
        self.listen = settings.PAGE_CACHE_LISTEN
        self.raw_keys = None
        self.snapshot = None  # (generations, notices seen before reading them, monotonic time they may be used until)

    def keys(self):
        return [f"pagecache:gen:{scope}" for scope in SCOPES]

    def from_values(self, values):
        """The generations, given what the cache returned for keys() (ignored when the counters are files)."""
        if self.in_memory:
            return {scope: self._file_generation(scope) for scope in SCOPES}
        return {scope: values.get(key) for scope, key in zip(SCOPES, self.keys(), strict=True)}

    def current(self):
        return self.from_values(self.cache.get_many(self.keys()) if not self.in_memory else {})

    def read(self):
        """current(), on the hot path. With Redis: the counters as read at most max_stale ago and with no bump
        noticed since; else one MGET straight through redis-py (Django's wrapper costs several times the round
        trip). Django stores integers unpickled, so the raw values are the counters."""
        if self.in_memory:
            snapshot = self.snapshot
            if snapshot and snapshot[1] == _bumps_here and time.monotonic() < snapshot[2]:
                return snapshot[0]
            until, bumps = time.monotonic() + self.max_stale, _bumps_here
            generations = self.from_values({})
            self.snapshot = (generations, bumps, until)
            return generations
        notices = self._notices()
        snapshot = self.snapshot
        if snapshot and snapshot[1] == notices and time.monotonic() < snapshot[2]:
            return snapshot[0]
        until = time.monotonic() + self.max_stale  # counted from before the round trip, so the bound holds
        values = self._client().mget(self._raw_keys())
        generations = {scope: None if v is None else int(v) for scope, v in zip(SCOPES, values, strict=True)}
        self.snapshot = (generations, notices, until)
        return generations

    def ensure(self, generations):
        """Fill in a missing counter (never set, or evicted) with a value no stored entry can carry."""
        for scope, key in zip(SCOPES, self.keys(), strict=True):
            if generations[scope] is None and not self.in_memory:
                self.cache.add(key, time.time_ns(), timeout=None)
        self.snapshot = None

    def bump(self, scopes):
        if self.in_memory:
            for scope in scopes:
                self.directory.mkdir(parents=True, exist_ok=True)
                target = self.directory / f"pagecache-{scope}"
                temporary = target.with_name(f"{target.name}.{os.getpid()}.{time.time_ns()}")
                temporary.write_text(str(time.time_ns()))
                os.replace(temporary, target)  # a new inode each time: (inode, mtime) never repeats
            _bumped_here()
            return
        keys = dict(zip(SCOPES, self._raw_keys(), strict=True))
        with self._client().pipeline() as pipe:  # MULTI/EXEC: the notice goes out after the increments
            for scope in scopes:
                pipe.set(keys[scope], time.time_ns(), nx=True)  # a counter never set or evicted starts afresh
                pipe.incr(keys[scope])
            pipe.publish(CHANNEL, " ".join(scopes))
            pipe.execute()
        _bumped_here()

    def _client(self):
        return _redis_client(self.location)

    def _raw_keys(self):
        if self.raw_keys is None:
            self.raw_keys = [self.cache.make_key(key) for key in self.keys()]
        return self.raw_keys

    def _notices(self):
        """Changes whenever a bump may have happened: one made by this process, or a notice from the channel."""
        if not self.listen:
            return _bumps_here
        listener = _listeners.get(self.location) or _start_listener(self.location)
        return (_bumps_here, listener.notices)

    def _file_generation(self, scope):
        try:
            stat = os.stat(self.directory / f"pagecache-{scope}")
        except FileNotFoundError:
            return 0
        return (stat.st_ino, stat.st_mtime_ns)


class BumpListener:
    """A thread of the worker's own, subscribed to CHANNEL, counting notices; it reconnects after any failure."""

    def __init__(self, location):
        self.location = location
        self.notices = 0  # written by this thread only
        self.thread = threading.Thread(target=self.run, name="pagecache-listener", daemon=True)
        self.thread.start()

    def run(self):
        import redis

        failing = False
        while True:
            pubsub = None
            try:
                client = redis.Redis.from_url(self.location, socket_connect_timeout=1, socket_keepalive=True)
                pubsub = client.pubsub()
                pubsub.subscribe(CHANNEL)
                # The subscription's own confirmation counts as a notice: a bump missed while (re)connecting is
                # read then.
                for _message in pubsub.listen():
                    self.notices += 1
                    failing = False
            except Exception:
                if not failing:
                    log.warning("page cache: the bump listener lost Redis; reconnecting", exc_info=True)
                failing = True
            finally:
                if pubsub is not None:
                    pubsub.close()
            self.notices += 1
            time.sleep(1)


_bumps_here = 0
_lock = threading.Lock()
_listeners = {}
_clients = {}


def _bumped_here():
    global _bumps_here
    with _lock:
        _bumps_here += 1


def _start_listener(location):
    with _lock:
        if location not in _listeners:
            _listeners[location] = BumpListener(location)
        return _listeners[location]


def _redis_client(location):
    client = _clients.get(location)
    if client is None:
        import redis

        client = _clients[location] = redis.Redis.from_url(location, socket_timeout=0.5, socket_connect_timeout=0.5)
    return client


# A forked child has none of its parent's threads: it starts a listener of its own on its first request.
os.register_at_fork(after_in_child=_listeners.clear)


def invalidate(*scopes):
    """Make every stored page of these scopes stale (default: all), and every process's copies of content data.
    Called by the signal handlers on changes; with the page cache off as well, for the copies."""
    CacheGenerations(caches[settings.PAGE_CACHE_ALIAS]).bump(scopes or SCOPES)


class PageCacheMiddleware:
    """WSGI middleware (not Django middleware): wrap the Django application with it in wsgi.py."""

    def __init__(self, app):
        self.app = app
        self.cache = caches[settings.PAGE_CACHE_ALIAS]
        self.generations = CacheGenerations(self.cache)
        self.timeout = settings.PAGE_CACHE_TIMEOUT
        # Each process keeps the pages it served last (unpickled), checked against the generations (read() says how
        # fresh those are); the shared cache behind it fills a process that has not seen a page yet.
        self.local = OrderedDict()
        self.local_size = settings.PAGE_CACHE_LOCAL_ENTRIES
        self.lock = threading.Lock()
        try:
            self.generations.ensure(self.generations.current())
        except Exception:
            log.warning("page cache unavailable", exc_info=True)

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        method = environ["REQUEST_METHOD"]
        outcome = "bypass"
        if method in ("GET", "HEAD") and not _has_personal_cookie(environ.get("HTTP_COOKIE", "")):
            key = _key(environ)
            try:
                generations = self.generations.read()
                entry = self._lookup(key, generations)
            except Exception:  # a cache outage must not take the site down; Django still answers
                log.warning("page cache unavailable", exc_info=True)
            else:
                environ[GENERATIONS_ENVIRON_KEY] = generations
                if entry:
                    status, headers, body = self._answer(environ, entry["headers"], entry["body"], entry["etag"])
                    start_response(status, [*headers, ("X-Page-Cache", "hit")])
                    self._log(environ, status, started, "hit", len(body))
                    return [body]
                return self._store_on_the_way(environ, start_response, key, generations, started)
        return self._pass(environ, start_response, started, outcome)

    def _lookup(self, key, generations):
        """The stored entry for this key if it was rendered under the current generations, else None."""
        entry = self.local.get(key)
        if entry is None or not _current(entry, generations):
            entry = self.cache.get(key)
            if entry is None or not _current(entry, generations):
                return None
            self._keep(key, entry)
        return entry

    def _keep(self, key, entry):
        with self.lock:
            self.local[key] = entry
            self.local.move_to_end(key)
            while len(self.local) > self.local_size:
                self.local.popitem(last=False)

    def _pass(self, environ, start_response, started, outcome):
        state = {}

        def recording_start_response(status, headers, exc_info=None):
            state["status"] = status
            headers = [(k, v) for k, v in headers if k != MARK_HEADER]
            return start_response(status, headers, exc_info)

        result = self.app(environ, recording_start_response)
        self._log(environ, state.get("status", "500"), started, outcome, None)
        return result

    def _store_on_the_way(self, environ, start_response, key, generations, started):
        captured = {}

        def capturing_start_response(status, headers, exc_info=None):
            captured.update(status=status, headers=headers)
            return lambda data: captured.setdefault("written", []).append(data)

        result = self.app(environ, capturing_start_response)
        status, headers = captured["status"], captured["headers"]
        mark = next((v for k, v in headers if k == MARK_HEADER), None)
        scopes, _, seconds = (mark or "").partition(";")
        scopes, seconds = scopes.split(), int(seconds) if seconds else None
        storable = (
            scopes
            and environ["REQUEST_METHOD"] == "GET"
            and status.startswith("200")
            and not any(k.lower() == "set-cookie" for k, _ in headers)
        )
        if not storable:  # streamed through untouched (a file download is never held in memory)
            headers = [(k, v) for k, v in headers if k != MARK_HEADER]
            write = start_response(status, headers)
            for data in captured.get("written", []):
                write(data)
            self._log(environ, status, started, "miss", None)
            return result
        try:
            body = b"".join([*captured.get("written", []), *result])
        finally:
            if hasattr(result, "close"):
                result.close()
        headers = [(k, v) for k, v in headers if k != MARK_HEADER]
        outcome = "miss"
        etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
        headers = [(k, v) for k, v in headers if k.lower() != "etag"] + [("ETag", etag)]
        entry = {"headers": headers, "body": body, "etag": etag, "generations": {s: generations[s] for s in scopes}}
        if seconds:
            entry["expires"] = time.time() + seconds  # wall-clock time: the entry may be read on another machine
        try:
            if None in entry["generations"].values():
                # A counter was never set or was evicted: set it, and store from the next request on (a bump made
                # while this page was rendering must not be mistaken for the generation it was rendered under).
                self.generations.ensure(generations)
            else:
                self.cache.set(key, entry, seconds or self.timeout)
                self._keep(key, entry)
                outcome = "store"
        except Exception:
            log.warning("page cache unavailable", exc_info=True)
        status, headers, body = self._answer(environ, headers, body, etag, status)
        start_response(status, [*headers, ("X-Page-Cache", "miss")])
        self._log(environ, status, started, outcome, len(body))
        return [body] if environ["REQUEST_METHOD"] != "HEAD" else [b""]

    @staticmethod
    def _answer(environ, headers, body, etag, status="200 OK"):
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if if_none_match and etag in parse_etags(if_none_match):
            kept = {"cache-control", "etag", "vary", "content-location", "expires", "date"}
            return "304 Not Modified", [(k, v) for k, v in headers if k.lower() in kept], b""
        if environ["REQUEST_METHOD"] == "HEAD":
            return status, headers, b""
        return status, headers, body

    @staticmethod
    def _log(environ, status, started, cache, size):
        if log.isEnabledFor(logging.INFO):
            log.info(
                "request",
                extra={
                    "method": environ["REQUEST_METHOD"],
                    "path": environ.get("PATH_INFO", ""),
                    "query": environ.get("QUERY_STRING", ""),
                    "status": int(status[:3]),
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                    "cache": cache,
                    "bytes": size,
                    "remote": client_ip(environ),
                },
            )


def _current(entry, generations):
    if "expires" in entry and entry["expires"] <= time.time():
        return False
    return all(generations[scope] == gen for scope, gen in entry["generations"].items())


def _has_personal_cookie(header):
    return header and any(name in header for name in _PERSONAL_COOKIE_NAMES)


def _key(environ):
    """Host, scheme as the proxy reports it, path and query: everything the page's HTML depends on."""
    scheme = environ.get("HTTP_X_FORWARDED_PROTO", environ.get("wsgi.url_scheme", "http"))
    # repr() of a tuple of strings is unambiguous, whatever the strings hold, and a tenth of json.dumps's cost.
    raw = repr((scheme, environ.get("HTTP_HOST", ""), environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", "")))
    return "pagecache:page:" + hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


class PublicPageMixin:
    """For Wagtail page types whose anonymous GET responses the page cache may store."""

    page_cache_scopes = ("content",)

    def get_view_restrictions(self):
        """Wagtail's answer (restrictions on this page or an ancestor, an alias standing for its source) in one
        query instead of two: the ancestors are read inside the restriction query; and in none while no page of the
        site has a restriction (kept per process, core/copies.py)."""
        from django.db.models import Q
        from django.db.models.functions import Coalesce
        from wagtail.models import Page, PageViewRestriction

        from carepath.core.copies import shared

        if not shared("any_view_restriction", PageViewRestriction.objects.exists):
            return PageViewRestriction.objects.none()
        steplen = Page.steplen
        ancestor_paths = [self.path[:end] for end in range(steplen, len(self.path), steplen)]
        ancestors = Page.objects.filter(path__in=ancestor_paths).exclude(pk=self.pk)
        checked = ancestors.annotate(checked=Coalesce("alias_of_id", "id")).values("checked")
        return PageViewRestriction.objects.filter(Q(page_id=self.alias_of_id or self.pk) | Q(page_id__in=checked))

    def serve(self, request, *args, **kwargs):
        response = super().serve(request, *args, **kwargs)
        if request.method in ("GET", "HEAD") and response.status_code == 200:
            mark_public(response, self.page_cache_scopes)
        return response
