"""The database goes away and comes back, for real: a PostgreSQL server of the test's own (initdb and pg_ctl in a
temporary directory, on a free port; the machine's shared server is never touched) behind CarePath as `make serve`
runs it."""

import os
import pwd
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from carepath.serve import production_environment, server_command
from carepath.testing import free_port

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
BIN = Path(shutil.which("carepath") or Path(os.sys.executable).with_name("carepath")).parent

pytestmark = pytest.mark.skipif(not (PG_BIN / "pg_ctl").exists(), reason=f"PostgreSQL server binaries not in {PG_BIN}")


def as_postgres(command):
    """initdb refuses to run as root: when we are root, run the server as the postgres system user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


class OwnPostgres:
    def __init__(self, directory):
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(directory, entry.pw_uid, entry.pw_gid)
        subprocess.run(
            as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
            check=True,
            capture_output=True,
        )

    def pg_ctl(self, *args):
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            as_postgres(
                [
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-o",
                    options,
                    "-l",
                    str(self.directory / "log"),
                    "-w",
                    *args,
                ]
            ),
            check=True,
            capture_output=True,
        )

    @property
    def url(self):
        return f"postgres://postgres@127.0.0.1:{self.port}/carepath"


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


@pytest.fixture(scope="module")
def site():
    directory = Path(tempfile.mkdtemp(prefix="carepath-dbdown-"))
    postgres = OwnPostgres(directory)
    postgres.pg_ctl("start")
    server = None
    try:
        subprocess.run(
            [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(postgres.port), "-U", "postgres", "carepath"],
            check=True,
        )
        port = free_port()
        env = production_environment(
            {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
        )
        env.update(
            DATABASE_URL=postgres.url,
            CAREPATH_VAR_DIR=str(directory / "var"),
            PORT=str(port),
            WORKERS="1",
            PAGE_CACHE="true",
            DATABASE_CONN_MAX_AGE="60",
            ALLOWED_HOSTS="127.0.0.1",
        )
        for step in (["migrate", "--noinput", "-v0"], ["collectstatic", "--noinput", "-v0"], ["load_demo", "-v0"]):
            subprocess.run([str(BIN / "carepath"), *step], env=env, check=True, capture_output=True)
        server = subprocess.Popen(
            server_command(env), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while get_or_none(base + "/healthz") != 200:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.3)
        yield postgres, server, base
    finally:
        if server:
            os.killpg(server.pid, 15)
            server.wait(20)
        postgres.pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(directory, ignore_errors=True)


def get_or_none(url):
    try:
        return get(url)[0]
    except OSError:
        return None


def test_cached_guides_stay_up_the_rest_is_a_friendly_503_and_it_recovers(site):
    postgres, server, base = site
    guide = base + "/conditions/muscle-atrophy/"
    status, headers, html = get(guide)
    assert status == 200 and headers["X-Page-Cache"] == "miss"
    assert get(guide)[1]["X-Page-Cache"] == "hit"
    assert get(base + "/find-a-doctor/")[0] == 200
    assert get(base + "/readyz")[0] == 200

    postgres.pg_ctl("stop", "-m", "fast")
    try:
        status, headers, down_html = get(guide)
        assert status == 200 and down_html == html  # a cached guide is still served
        for path in ["/find-a-doctor/", "/conditions/stroke/", "/find-a-doctor/?near=10001", "/conditions/"]:
            status, headers, body = get(base + path)
            assert status == 503, path
            assert int(headers["Retry-After"]) > 0
            assert "back in a few minutes" in body and "911" in body
            assert "Traceback" not in body and "OperationalError" not in body and "psycopg" not in body
        assert get(base + "/readyz")[0] == 503
        assert get(base + "/healthz")[0] == 503
    finally:
        postgres.pg_ctl("start")

    # The same server process, no restart: the next requests reconnect.
    assert server.poll() is None
    deadline = time.monotonic() + 10
    while get(base + "/find-a-doctor/")[0] != 200:
        assert time.monotonic() < deadline, "the app did not recover after the database came back"
        time.sleep(0.2)
    assert get(base + "/conditions/stroke/")[0] == 200
    assert get(base + "/readyz")[0] == 200
