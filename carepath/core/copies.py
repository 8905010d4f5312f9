"""Per-process copies of data that changes only when the page cache's "content" generation moves: the site and its
root paths, where a path leads, whether any page is private, the glossary, rich-text page links, images and their
renditions, and a guide's related reading, up next, references, reviewers and specialties. An uncached page reads
them from memory instead of running a query for each; only the page's own row is read every time.

When a copy is valid: each request reads the generation counters once, before the first copy it asks for (a page
cache miss hands over the values the layer in front has just read), and a copy serves only
requests that started under the generation it was built under. Every change that bumps "content" (a publish, an
unpublish, a move, a glossary term, a reviewer, an image, a specialty name, a view restriction; core/signals.py) is
therefore seen by the next request of every process. The generation is read before anything is built, so a change
committed while a copy is being built leaves that copy under the old generation, never the new one. The process
that makes a change also drops its copies at once, so a request later in the same transaction sees it.

Only what every reader sees belongs here: published content, never anything taken from a request, a session or a
user. Values are shared between threads, so they are plain immutable data or pickled model instances handed out as
fresh copies (`Instances`), never a model instance two requests could both hold.
"""

import contextvars
import logging
import pickle
import threading
from collections import OrderedDict

from django.conf import settings
from django.core.cache import caches

from carepath.core.pagecache import GENERATIONS_ENVIRON_KEY, CacheGenerations

MAX_ENTRIES = 20_000  # per table and generation: a bound on memory whatever paths readers ask for
KEPT_GENERATIONS = 2  # a request that started just before a bump still finds the copies of its generation

log = logging.getLogger("carepath.request")
_request = contextvars.ContextVar("carepath_copies_request", default=None)  # [environ, generation] of this request
UNREAD = object()
_copies = OrderedDict()  # generation -> {name: value}
_lock = threading.Lock()
_readers = {}


def _counters():
    """The page cache's generation counters as this process's settings name them (tests swap the cache)."""
    alias = settings.PAGE_CACHE_ALIAS
    config = settings.CACHES[alias]
    key = (alias, str(config.get("LOCATION")), config.get("KEY_PREFIX", ""), str(settings.PAGE_CACHE_GENERATION_DIR))
    reader = _readers.get(key)
    if reader is None:  # the first request of the process (only tests change the settings: one reader at a time)
        reader = CacheGenerations(caches[alias])
        _readers.clear()
        _readers[key] = reader
    return reader


def read_generation(environ=None):
    """The current "content" generation, or None when the counters cannot be read (then nothing is kept)."""
    handed_over = (environ or {}).get(GENERATIONS_ENVIRON_KEY)
    if handed_over is not None and handed_over.get("content") is not None:
        return handed_over["content"]
    try:
        counters = _counters()
        generations = counters.read()
        if generations["content"] is None:  # never set (the page cache off) or evicted: set it, then read it
            counters.ensure(generations)
            generations = counters.read()
        return generations["content"]
    except Exception:  # a cache outage must not take the site down: build everything afresh
        log.warning("generation counters unavailable", exc_info=True)
        return None


def _values():
    state = _request.get()
    if state is None:
        generation = read_generation()  # outside a request (a command, a test calling a model method)
    else:
        if state[1] is UNREAD:  # the first copy this request asks for: the counters are read once, now
            state[1] = read_generation(state[0])
        generation = state[1]
    if generation is None:
        return None
    values = _copies.get(generation)
    if values is None:
        with _lock:
            values = _copies.setdefault(generation, {})
            _copies.move_to_end(generation)
            while len(_copies) > KEPT_GENERATIONS:
                _copies.popitem(last=False)
    return values


def shared(name, build):
    """build(), once per generation in this process."""
    values = _values()
    if values is None:
        return build()
    try:
        return values[name]
    except KeyError:
        value = values[name] = build()  # two threads may both build; both results are right
        return value


def shared_entries(name, keys, build):
    """{key: value} for these keys from the table `name`; build(missing keys) returns {key: value} for the ones not
    kept yet (one query for all of them), and what it returns is kept."""
    values = _values()
    if values is None:
        return build(list(keys))
    table = values.setdefault(name, {})
    missing = [key for key in keys if key not in table]
    found = {key: table[key] for key in keys if key in table}
    if missing:
        built = build(missing)
        if len(table) < MAX_ENTRIES:
            table.update(built)
        found.update(built)
    return found


def shared_entry(name, key, build):
    """One value from the table `name`: build() when it is not kept yet."""
    return shared_entries(name, [key], lambda missing: {key: build()})[key]


class Instances:
    """Model instances kept as bytes: each call gives a fresh, unshared copy of the one with that primary key."""

    def __init__(self, objects):
        self.data = {pk: pickle.dumps(obj) for pk, obj in objects.items()}

    def __call__(self, pk):
        raw = self.data.get(pk)
        return None if raw is None else pickle.loads(raw)


def forget():
    """Drop every copy this process holds (a change made here, not yet committed; a test's rolled-back data)."""
    with _lock:
        _copies.clear()


class ContentCopiesMiddleware:
    """Reads the content generation at most once per request (when a copy is first asked for), and gives Wagtail's
    page serving the request's site from the copies."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request.set([getattr(request, "environ", None), UNREAD])
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        from wagtail.views import serve

        if view_func is serve and not hasattr(request, "_wagtail_site"):
            # Wagtail's Site.find_for_request keeps its answer here; finding it costs a query per request.
            request._wagtail_site = site_for_request(request)


def site_for_request(request):
    """Wagtail's answer for this host and port (Site.find_for_request), with the home page already specific."""
    from django.http.request import split_domain_port
    from wagtail.models import Site
    from wagtail.models.sites import get_site_for_hostname

    hostname, port = split_domain_port(request._get_raw_host())[0], request.get_port()

    def find():
        try:
            site = get_site_for_hostname(hostname, port)
        except Site.DoesNotExist:
            return None
        site.root_page = site.root_page.specific  # what Wagtail's routing asks of it first
        return pickle.dumps(site)

    found = shared_entry("sites", (hostname, port), find)
    return None if found is None else pickle.loads(found)
