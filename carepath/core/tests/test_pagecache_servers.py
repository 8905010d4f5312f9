"""The page cache across app servers, for real: separate processes (carepath.core.tests.serving_process) on one copy
of the test database and the machine's Redis, as several `make serve` machines would be. A change made in one process
must stop every other process serving the page it changed within the stated bound (PAGE_CACHE_MAX_STALE_MS), and
usually at once (the bump is published; each process listens); nothing personal may ever be stored."""

import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.core.cache.backends.redis import RedisCache
from django.db import connection, connections

from carepath.serve import production_environment

pytestmark = pytest.mark.django_db  # the servers run on a copy of the test database, which this sets up
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/4"  # the suite's Redis when it was given one
ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
BOUND = 1.0  # seconds: PAGE_CACHE_MAX_STALE_MS as the README states it


class Server:
    """One app server process; each call is one request or one change, answered when it is done."""

    def __init__(self, env):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "carepath.core.tests.serving_process"],
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def do(self, action, **kwargs):
        self.process.stdin.write(json.dumps({"action": action, **kwargs}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, f"the server process ended (exit status {self.process.wait()})"
        reply = json.loads(line)
        assert "error" not in reply, reply["error"]
        return reply

    def get(self, path):
        return self.do("get", path=path)

    def seconds_until(self, path, changed, since, limit=10):
        """How long after `since` the first request that saw `path` changed was sent (polling as fast as the
        process answers), or fail after `limit` seconds."""
        while True:
            sent = time.monotonic()
            if changed(self.get(path)):
                return sent - since
            assert sent - since < limit, f"{path} still unchanged after {limit} s"

    def stop(self):
        self.process.stdin.close()
        self.process.wait(20)


@pytest.fixture(scope="module")
def database(django_db_setup, django_db_blocker):
    """A copy of the test database (with the demo library) that the server processes share and may change."""
    with tempfile.TemporaryDirectory() as directory:
        with django_db_blocker.unblock():
            url, drop = _copy_test_database(Path(directory))
        try:
            # Production settings serve hashed static files: every server of the module needs the manifest.
            env = server_env(url, directory)
            subprocess.run([str(BIN / "carepath"), "collectstatic", "--noinput", "-v0"], env=env, check=True)
            yield url, directory
        finally:
            with django_db_blocker.unblock():
                drop()


def _copy_test_database(directory):
    """The URL of a copy of the test database, and how to drop it."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        path = directory / "servers.sqlite3"
        connection.ensure_connection()
        with sqlite3.connect(path) as copy:
            connection.connection.backup(copy)
        return f"sqlite:///{path}", lambda: None
    name = f"{settings['NAME']}_servers"

    def drop():
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    drop()
    connections.close_all()  # a template database must have no other session
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{settings["NAME"]}"')
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    host, port = settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432
    return f"postgres://{settings['USER']}{password}@{host}:{port}/{name}", drop


@pytest.fixture(scope="module")
def servers(database):
    """Three app servers: an editor (and moderator), a reader told of bumps but otherwise re-reading the counters
    only every minute, and a reader with no listener at all that relies on the bound alone."""
    url, directory = database
    prefix = f"test-{uuid.uuid4().hex}"
    env = server_env(url, directory, REDIS_URL=REDIS_URL, CACHE_KEY_PREFIX=prefix)
    started = {
        "editor": Server(env),
        "told": Server({**env, "PAGE_CACHE_MAX_STALE_MS": "60000"}),
        "bounded": Server({**env, "PAGE_CACHE_LISTEN": "false", "PAGE_CACHE_MAX_STALE_MS": str(int(BOUND * 1000))}),
    }
    try:
        yield started, prefix
    finally:
        for server in started.values():
            server.stop()
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)


def server_env(url, directory, **extra):
    """What `make serve` runs with, on the copy of the test database, with this var directory."""
    dropped = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "DEBUG", "REDIS_URL", "CACHE_KEY_PREFIX")
    outside = {k: v for k, v in os.environ.items() if k not in dropped}
    env = production_environment({**outside, "CAREPATH_VAR_DIR": directory})
    env.update(DATABASE_URL=url, PAGE_CACHE="true", ALLOWED_HOSTS="testserver", EMAIL_URL="dummy:")
    env.update(LOG_LEVEL="WARNING", **extra)
    return env


def assert_unpublish_reaches(editor, reader, slug):
    """Unpublish a guide in `editor`: `reader` stops serving it within BOUND, and past the bound every answer is
    the new one (its index no longer lists it), whatever that process had read before."""
    guide = f"/conditions/{slug}/"
    warm(reader, guide, "/conditions/")
    assert guide in reader.get("/conditions/")["text"]
    editor.do("unpublish", slug=slug)
    unpublished = time.monotonic()
    assert reader.seconds_until(guide, lambda r: r["status"] == 404, unpublished) < BOUND
    time.sleep(max(0.0, unpublished + BOUND - time.monotonic()))
    assert reader.get(guide)["status"] == 404
    assert guide not in reader.get("/conditions/")["text"]


def warm(server, *paths):
    """Until each path is a hit: the first request stores it, or only sets the counters when they were missing (the
    suite flushes the Redis database between tests)."""
    for path in paths:
        assert any(server.get(path)["cache"] == "hit" for _ in range(3)), path


def test_a_publish_reaches_a_page_another_process_serves_at_once(servers):
    (servers, _) = servers
    editor, reader = servers["editor"], servers["told"]
    guide = "/conditions/muscle-atrophy/"
    warm(reader, guide, "/conditions/")
    editor.do("publish", slug="muscle-atrophy", title="Muscle wasting (atrophy)")
    published = time.monotonic()
    # This reader re-reads the counters only once a minute by itself: seeing the change at once is the notice's doing.
    assert reader.seconds_until(guide, lambda r: "Muscle wasting (atrophy)" in r["text"], published) < BOUND
    assert "Muscle wasting (atrophy)" in reader.get("/conditions/")["text"]  # the index that lists it
    assert reader.get(guide)["cache"] == "hit"  # and stored again


def test_an_unpublish_reaches_a_process_without_a_listener_within_the_bound(servers):
    (servers, _) = servers
    assert_unpublish_reaches(servers["editor"], servers["bounded"], "gout")


@pytest.mark.parametrize("reader", ["told", "bounded"])
def test_moderation_decisions_reach_the_profile_another_process_serves(servers, reader):
    from carepath.directory.models import Provider

    (servers, _) = servers
    editor, reader = servers["editor"], servers[reader]
    npi = Provider.objects.filter(active=True).order_by("npi").values_list("npi", flat=True)[3]
    profile = f"/find-a-doctor/{npi}/"
    text = f"Waited three hours ({uuid.uuid4().hex[:6]})."
    warm(reader, profile)
    review = editor.do("write_review", npi=npi, text=text)["review"]
    approved = time.monotonic()
    assert reader.seconds_until(profile, lambda r: text in r["text"], approved) < BOUND
    editor.do("reject_review", review=review, reason="Names a member of staff")
    rejected = time.monotonic()
    assert reader.seconds_until(profile, lambda r: text not in r["text"], rejected) < BOUND


def test_nothing_personal_is_stored_or_served_to_another_process(servers):
    (servers, prefix) = servers
    sharer, reader = servers["editor"], servers["told"]
    guide = "/conditions/stroke/"
    warm(reader, guide)
    sent = sharer.do("share", path=guide, recipient="aunt.may@example.org")
    # The "Sent" message is the sharer's own (a messages cookie, or the session when it is too big for one).
    assert sent["status"] == 302 and any(c.strip().startswith(("messages=", "sessionid=")) for c in sent["cookies"])
    own = sharer.get(guide)  # with it: Django answers
    assert own["cache"] is None and "Sent. We emailed a link" in own["text"]
    other = reader.get(guide)
    assert other["cache"] == "hit" and not other["cookies"]
    assert "Sent. We emailed a link" not in other["text"]
    assert re.search(r'name="csrfmiddlewaretoken" value=""', other["text"])
    # Every page stored in Redis: no cookie set, no token, no session, no message.
    stored = RedisCache(REDIS_URL, {"KEY_PREFIX": prefix})
    client = redis.Redis.from_url(REDIS_URL)
    keys = [k.decode().split(":", 2)[2] for k in client.scan_iter(f"{prefix}:*:pagecache:page:*")]
    assert keys
    for entry in stored.get_many(keys).values():
        assert not [name for name, _ in entry["headers"] if name.lower() == "set-cookie"], entry["headers"]
        body = entry["body"].decode()
        assert not re.search(r'name="csrfmiddlewaretoken" value="[^"]', body)
        assert "Sent. We emailed a link" not in body and "sessionid" not in body


def test_with_local_memory_a_change_reaches_another_worker_within_the_bound(database):
    """Without Redis each worker has a cache of its own; the counters are files under the shared var directory, which
    a worker reads at most every PAGE_CACHE_MAX_STALE_MS: a change made by one worker stops another serving the old
    page within the bound, and past it every answer is the new one."""
    url, directory = database
    env = server_env(url, directory, PAGE_CACHE_MAX_STALE_MS=str(int(BOUND * 1000)))
    editor, reader = Server(env), Server(env)
    try:
        assert_unpublish_reaches(editor, reader, "osteoporosis")
    finally:
        editor.stop()
        reader.stop()
