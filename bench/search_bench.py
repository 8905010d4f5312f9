"""Provider search latency: the API through a real app server, the search in-process, its SQL alone, a naive
baseline, the search as it was before ProviderSearchEntry, and the prototypes of bench/search_prototype.py, on
SQLite and PostgreSQL side by side.

    .venv/bin/python bench/search_bench.py \\
        --sqlite sqlite:////tmp/carepath_search_bench_1m.sqlite3 \\
        --postgres postgres://postgres@127.0.0.1:5432/carepath_search_bench_1m \\
        -k 500 --k-slow 100 --k-naive 150 --warmup-passes 1 --out /tmp/search_bench_1m.json

Fill the databases first with bench/directory_generate.py and build the prototype table in each with
`bench/search_prototype.py build` (or pass --no-prototype). The query is the issue's:
/api/v1/providers?specialty=<code>&near=<ZIP>&radius=25&sort=rating, over WORKLOAD_ZIPS (12 dense metro cores,
12 mid-size cities and suburbs, 12 rural towns) crossed with SPECIALTIES, shuffled with a fixed seed; request i is
the same (specialty, ZIP) for every database and method. The run records a hash of the carepath/ files it measured
(the tree changes while benchmarks run) and warns when they changed during the run.

Layers, each timed over the same K queries (the slow ones over the first --k-slow / --k-naive) after a warm-up:
- api: GET through granian, as `make serve` runs it (1 worker, 1 blocking thread; --server gunicorn: gunicorn, 1
  worker, gthread with 1 thread so HTTP keep-alive works; the default sync worker closes the connection after every
  response), serving `carepath.wsgi`, DEBUG off, a random 64-character SECRET_KEY,
  DATABASE_CONN_MAX_AGE=600, from an http.client keep-alive connection in this process. One server per database
  and kind, requests interleaved between them, so drift of this shared machine hits all alike. Every response must
  be 200; every other kind's count and NPIs must equal the tree's (v3's count may be a lower bound).
- api_old / api_proto2 / api_proto3: the same server with the API view's search_providers swapped
  (bench/search_old_code.py, bench/search_prototype.py); nothing else differs.
- search_providers: parse_query + search_providers in a child process per database (django.setup()), as the view
  calls them, without HTTP and JSON. before: the same with bench/search_old_code.py.
- SQL, all statements: every statement parse_query + search_providers issue (captured once per distinct query with
  connection.execute_wrapper), replayed with cursor.execute + fetchall, timed together.
- SQL, the search statement: the one that reads ProviderSearchEntry (PracticeLocation in the old code).
- naive baseline SQL: one statement that computes the haversine distance for every practice location of every
  active provider of the specialty (no bounding box), then keeps those within the radius, best rating first, 20 and
  the count. The distance is computed in the database on both: SQLite's built-in math functions (sin, cos, asin,
  sqrt, power, radians; compiled into Python's SQLite 3.40, so C code, not a registered Python function).
- prototype SQL variants and v2/v3 (see bench/search_prototype.py).
Every method's count and 20 NPIs are checked against search_providers for every distinct query.
Percentiles are nearest-rank over the K timings. Results: printed as Markdown, and all timings to --out (JSON).
"""

import argparse
import http.client
import json
import os
import platform
import random
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

WORKLOAD_ZIPS = {
    # metro cores: New York, Brooklyn, Los Angeles, Chicago, Houston, San Francisco, Boston, Philadelphia,
    # Washington, Atlanta, Seattle, Dallas
    "dense": "10001 11201 90012 60601 77030 94103 02115 19104 20005 30303 98101 75201".split(),
    # mid-size cities and a Long Island suburb: Columbus, Nashville, Denver, Minneapolis, Kansas City,
    # Indianapolis, Milwaukee, Salt Lake City, Oklahoma City, Louisville, Albuquerque, Lindenhurst NY
    "medium": "43215 37203 80202 55401 64105 46204 53202 84101 73102 40202 87102 11757".split(),
    # rural towns: Butte MT, Sheridan WY, Bismarck ND, Houlton ME, Fairbanks AK, North Platte NE, Burns OR,
    # Alpine TX, Rexburg ID, Pierre SD, Ely NV, Alamosa CO
    "sparse": "59701 82801 58501 04730 99701 69101 97720 79830 83440 57501 89301 81101".split(),
}
# Family medicine and physical therapy (the commonest codes), internal medicine (a classification: the code and its
# six specializations), neurology (mid), rheumatology (rare).
SPECIALTIES = ["207Q00000X", "225100000X", "207R00000X", "2084N0400X", "207RR0500X"]
RADIUS = 25
SORT = "rating"


def workload(k, seed):
    combos = [(s, z, stratum) for stratum, zips in WORKLOAD_ZIPS.items() for z in zips for s in SPECIALTIES]
    rng = random.Random(seed)
    items = []
    while len(items) < k:
        batch = combos[:]
        rng.shuffle(batch)
        items += batch
    return combos, items[:k]


def path_for(specialty, zip5):
    return f"/api/v1/providers?specialty={specialty}&near={zip5}&radius={RADIUS}&sort={SORT}"


def pct(values, p):
    """Nearest-rank percentile (ms)."""
    s = sorted(values)
    if not s:
        return float("nan")
    rank = max(1, -(-len(s) * p // 100))
    return s[int(rank) - 1]


def summary(values):
    return {"n": len(values), "p50": pct(values, 50), "p95": pct(values, 95), "p99": pct(values, 99)}


def setup_django(url):
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carepath.settings")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(64))
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
    os.environ.setdefault("CAREPATH_VAR_DIR", "/tmp/search_bench_var")
    import django

    django.setup()


# ----------------------------------------------------------------------------------------------------------------
# In-process layers (a child process per database)


def naive_sql(q):
    from search_prototype import EARTH_RADIUS_MILES, PAGE_SIZE

    lat, lng = q.place.latitude, q.place.longitude
    dist = (
        "2 * %s * asin(sqrt(power(sin(radians(l.latitude - %s) / 2), 2) + "
        "cos(radians(%s)) * cos(radians(l.latitude)) * power(sin(radians(l.longitude - %s) / 2), 2)))"
    )
    codes = ", ".join(["%s"] * len(q.codes))
    sql = (
        "SELECT npi, d, score, COUNT(*) OVER () FROM ("
        f"SELECT p.npi AS npi, MIN({dist}) AS d, MAX(p.rating_score) AS score "
        "FROM directory_providerspecialty s JOIN directory_provider p ON p.npi = s.provider_id "
        "JOIN directory_practicelocation l ON l.provider_id = p.npi "
        f"WHERE s.taxonomy_id IN ({codes}) AND p.active = %s AND l.latitude IS NOT NULL GROUP BY p.npi) t "
        "WHERE d <= %s ORDER BY score DESC, d, npi LIMIT %s"
    )
    return sql, [EARTH_RADIUS_MILES, lat, lat, lng, *q.codes, True, q.radius, PAGE_SIZE]


SLOW = ("old_search_providers", "proto_current_tables_sql")
SEARCH_TABLES = ("directory_providersearchentry", "directory_practicelocation")


def inprocess(url, items, k_naive, prototype, k_slow=None, variants=("2", "3")):
    setup_django(url)
    import search_old_code
    import search_prototype as sp
    from django.db import connection

    from carepath.directory import search as tree
    from carepath.directory.search import parse_query, search_providers

    def params(s, z):
        return {"specialty": s, "near": z, "radius": str(RADIUS), "sort": SORT}

    distinct = sorted({(s, z) for s, z, _ in items})
    reference, statements, queries, answers = {}, {}, {}, {}
    for s, z in distinct:  # warm-up pass, capturing the SQL and the reference answer
        captured = []

        def capture(execute, sql, prm, many, context, captured=captured):
            captured.append((sql, prm))
            return execute(sql, prm, many, context)

        with connection.execute_wrapper(capture):
            q = parse_query(params(s, z))
            r = search_providers(q)
        queries[s, z] = q
        statements[s, z] = captured
        answers[s, z] = r
        # The reference is exact: the tree's search with no cap on counting (every match read and sorted).
        cap, tree.COUNT_CAP_ROWS = tree.COUNT_CAP_ROWS, 10**12
        try:
            exact = search_providers(q)
        finally:
            tree.COUNT_CAP_ROWS = cap
        reference[s, z] = (exact.count, [p.npi for p in exact.providers])

    def timed(fn, n):
        out = []
        for s, z, _ in items[:n]:
            t = time.perf_counter_ns()
            fn(s, z)
            out.append((time.perf_counter_ns() - t) / 1e6)
        return out

    def replay(stmts):
        def go(s, z):
            with connection.cursor() as cur:
                for sql, prm in stmts(s, z):
                    cur.execute(sql, prm)
                    cur.fetchall()

        return go

    def main_statement(s, z):
        return [st for st in statements[s, z] if any(t in st[0] for t in SEARCH_TABLES)]

    def sql_method(builder):
        def go(s, z):
            with connection.cursor() as cur:
                sp.run(cur, builder(queries[s, z]))

        return go

    methods = {
        "search_providers": lambda s, z: search_providers(parse_query(params(s, z))),
        "sql_all": replay(lambda s, z: statements[s, z]),
        "sql_search": replay(main_statement),
        "old_search_providers": lambda s, z: search_old_code.search_providers(parse_query(params(s, z))),
    }
    checks = {"naive_sql": naive_sql}
    if prototype:
        methods["proto_current_tables_sql"] = sql_method(sp.current_tables_sql)
        methods["proto_point_haversine_sql"] = sql_method(sp.point_haversine_sql)
        methods["proto_point_chord_sql"] = sql_method(sp.point_chord_sql)
        if "1" in variants:
            methods["proto_search_providers"] = lambda s, z: sp.search_providers(parse_query(params(s, z)))
        checks.update(
            proto_current_tables_sql=sp.current_tables_sql,
            proto_point_haversine_sql=sp.point_haversine_sql,
            proto_point_chord_sql=sp.point_chord_sql,
        )
        sp._ORIGINAL = search_providers
    mismatches = {"search_providers": []}
    for key, r in answers.items():  # the tree's page must be the exact one; its count exact, or a lower bound
        count, npis = reference[key]
        if [p.npi for p in r.providers] != npis or not (r.count == count or r.count_capped and r.count <= count):
            mismatches["search_providers"].append(f"{key}: {r.count} vs {count}")
    with connection.cursor() as cur:
        for name, builder in checks.items():
            bad = []
            for key in distinct:
                count, npis, _ = sp.run(cur, builder(queries[key]))
                if (count, npis) != reference[key]:
                    bad.append(f"{key}: {count} vs {reference[key][0]}")
            mismatches[name] = bad
        bad = []
        for key in distinct:
            r = search_old_code.search_providers(queries[key])
            if (r.count, [p.npi for p in r.providers]) != reference[key]:
                bad.append(str(key))
        mismatches["old_search_providers"] = bad
        if prototype and "1" in variants:
            bad = []
            for key in distinct:
                r = sp.search_providers(queries[key])
                if (r.count, [p.npi for p in r.providers]) != reference[key]:
                    bad.append(str(key))
            mismatches["proto_search_providers"] = bad
        cur.execute("SELECT count(*) FROM directory_provider")
        n_providers = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM bench_search_point" if prototype else "SELECT 0")
        n_points = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM directory_practicelocation")
        n_locations = cur.fetchone()[0]

    timings = {name: timed(fn, k_slow if name in SLOW else len(items)) for name, fn in methods.items()}
    if prototype and set(variants) & {"2", "3"}:
        # v2/v3 cache the Taxonomy look-ups by patching parse_query's helpers: only after today's code is timed.
        sp.install("2")
        for v in sorted(set(variants) & {"2", "3"}):
            fn = sp.VARIANTS[v]
            bad = []
            for key in distinct:
                r = fn(parse_query(params(*key)))
                count, npis = reference[key]
                capped = getattr(r, "count_capped", False)
                if [p.npi for p in r.providers] != npis or not (r.count == count or capped and r.count <= count):
                    bad.append(f"{key}: {r.count} vs {count}")
            mismatches[f"proto{v}_search_providers"] = bad
            timings[f"proto{v}_search_providers"] = timed(lambda s, z, fn=fn: fn(parse_query(params(s, z))), len(items))
    naive_items = items[:k_naive]
    for s, z in sorted({(s, z) for s, z, _ in naive_items}):  # warm the naive plan's pages too
        with connection.cursor() as cur:
            sp.run(cur, naive_sql(queries[s, z]))
    timings["naive_sql"] = []
    for s, z, _ in naive_items:
        with connection.cursor() as cur:
            t = time.perf_counter_ns()
            sp.run(cur, naive_sql(queries[s, z]))
            timings["naive_sql"].append((time.perf_counter_ns() - t) / 1e6)

    connect_ms = []
    if connection.vendor == "postgresql":  # context: what a request pays without persistent connections
        import psycopg

        settings = connection.get_connection_params()
        for _ in range(20):
            t = time.perf_counter_ns()
            psycopg.connect(**settings).close()
            connect_ms.append((time.perf_counter_ns() - t) / 1e6)

    return {
        "vendor": connection.vendor,
        "n_providers": n_providers,
        "n_locations": n_locations,
        "n_search_points": n_points,
        "statements": {f"{s} {z}": [sql for sql, _ in statements[s, z]] for s, z in distinct[:3]},
        "counts": {f"{s} {z}": reference[s, z][0] for s, z in distinct},
        "capped": {f"{s} {z}": answers[s, z].count_capped for s, z in distinct},
        "statements_per_query": {f"{s} {z}": len(statements[s, z]) for s, z in distinct},
        "mismatches": mismatches,
        "timings": timings,
        "new_connection_ms": connect_ms,
    }


# ----------------------------------------------------------------------------------------------------------------
# The app server


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVERS = ("gunicorn", "granian")


class Server:
    """One app server with one worker and one thread, for one database, spoken to over one keep-alive connection.
    `server`: gunicorn (gthread, so keep-alive works) or granian (what `make serve` runs)."""

    def __init__(self, url, prototype=None, app=None, server="gunicorn"):
        self.server = server
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DJANGO_SETTINGS_MODULE")}
        env.update(
            SECRET_KEY=secrets.token_urlsafe(48),  # 64 characters
            ALLOWED_HOSTS="127.0.0.1",
            SECURE_SSL_REDIRECT="false",
            DATABASE_URL=url,
            DATABASE_CONN_MAX_AGE="600",
            CAREPATH_VAR_DIR="/tmp/search_bench_var",
            LOG_LEVEL="WARNING",
            # The searches themselves are measured: the page cache would answer every repeat of a query (it stores
            # anonymous search answers for up to a minute), so it is off on the benchmark's servers.
            PAGE_CACHE="false",
        )
        extra = ["--pythonpath", str(BENCH)] if app else []  # app: a WSGI module in bench/
        app = app or "carepath.wsgi:application"
        if prototype == "old":
            env["CAREPATH_SEARCH_OLD"] = "1"
            app = "search_old_code:application"
            extra = ["--pythonpath", str(BENCH)]
        elif prototype:
            env["CAREPATH_SEARCH_PROTOTYPE"] = prototype
            app = "search_prototype:application"
            extra = ["--pythonpath", str(BENCH)]
        self.log = open(f"/tmp/search_bench_{server}_{self.port}.log", "w")
        if server == "granian":
            if extra:
                env["PYTHONPATH"] = os.pathsep.join([str(BENCH), *filter(None, [env.get("PYTHONPATH")])])
            cmd = [str(ROOT / ".venv/bin/granian"), "--interface", "wsgi", "--host", "127.0.0.1"]
            cmd += ["--port", str(self.port), "--workers", "1", "--blocking-threads", "1", "--no-ws"]
            cmd += ["--working-dir", str(ROOT), app]
        else:
            cmd = [str(ROOT / ".venv/bin/gunicorn"), app, "--bind", f"127.0.0.1:{self.port}", "--workers", "1"]
            cmd += ["--worker-class", "gthread", "--threads", "1", "--keep-alive", "60", "--chdir", str(ROOT), *extra]
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    c.close()
                    break
            except OSError:
                pass
            if time.time() > deadline or self.proc.poll() is not None:
                self.stop()
                sys.exit(f"{server} did not come up; see {self.log.name}")
            time.sleep(0.2)
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def get(self, path):
        """(milliseconds, status, body)"""
        t = time.perf_counter_ns()
        self.conn.request("GET", path)
        r = self.conn.getresponse()
        body = r.read()
        ms = (time.perf_counter_ns() - t) / 1e6
        if r.getheader("Connection", "").lower() == "close":
            self.reconnects = getattr(self, "reconnects", 0) + 1
        return ms, r.status, body

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


API_KINDS = {"current": "api", "old": "api_old", "1": "api_proto", "2": "api_proto2", "3": "api_proto3"}


def api_layer(urls, combos, items, kinds, warmup_passes, server="gunicorn"):
    servers = {}
    for db, url in urls.items():
        for kind in kinds:
            prototype = None if kind == "current" else kind
            servers[f"{API_KINDS[kind]} {db}"] = Server(url, prototype=prototype, server=server)
    try:
        answers = {}
        for name, server in servers.items():  # warm-up: every distinct query, warmup_passes times
            for _ in range(max(1, warmup_passes)):
                for s, z, _ in combos:
                    ms, status, body = server.get(path_for(s, z))
                    if status != 200:
                        raise SystemExit(f"{name}: {status} for {path_for(s, z)}: {body[:300]!r}")
                    data = json.loads(body)
                    answers[name, s, z] = (data["count"], [r["npi"] for r in data["results"]])
        mismatches = {}
        for db in urls:
            if "current" not in kinds:
                continue
            for kind in kinds:
                name = API_KINDS[kind]
                if kind == "current":
                    continue
                bad = []
                for s, z, _ in combos:
                    (count, npis), (c2, n2) = answers[f"api {db}", s, z], answers[f"{name} {db}", s, z]
                    if n2 != npis or not (c2 == count or kind == "3" and c2 <= count):  # v3 caps the count
                        bad.append(f"{s} {z}")
                mismatches[db, name] = bad
        timings = {name: [] for name in servers}
        for s, z, _ in items:
            for name, server in servers.items():
                ms, status, _ = server.get(path_for(s, z))
                if status != 200:
                    raise SystemExit(f"{name}: {status}")
                timings[name].append(ms)
        reconnects = {name: getattr(server, "reconnects", 0) for name, server in servers.items()}
        return timings, mismatches, reconnects, {name: s.port for name, s in servers.items()}
    finally:
        for server in servers.values():
            server.stop()


# ----------------------------------------------------------------------------------------------------------------


def fingerprint():
    """Which code was measured: the tree changes while benchmarks run."""
    import hashlib

    files = ["carepath/directory/search.py", "carepath/directory/models.py", "carepath/api/api.py"]
    files += ["carepath/directory/search_index.py", "carepath/settings.py"]
    out = {}
    for f in files:
        path = ROOT / f
        out[f] = hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.exists() else None
    return out


def machine():
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(int(mem.split()[1]) / 2**20, 1),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
    }


LABELS = [
    ("api", "API through {server} (the tree's code)"),
    ("api_old", "API through {server} (before: bbox on PracticeLocation + Python)"),
    ("api_proto", "API through {server} (prototype)"),
    ("search_providers", "parse_query + search_providers in-process (the tree's code)"),
    ("sql_all", "SQL alone: all statements of one search (the tree's code)"),
    ("sql_search", "SQL alone: the search statement (the tree's code)"),
    ("old_search_providers", "before: parse_query + search_providers in-process"),
    ("naive_sql", "naive baseline SQL (distance for every provider of the specialty)"),
    ("proto_current_tables_sql", "prototype SQL: today's tables, distance+sort+count in SQL"),
    ("proto_point_haversine_sql", "prototype SQL: search table, haversine"),
    ("proto_point_chord_sql", "prototype SQL: search table, unit-vector chord"),
    ("proto_search_providers", "prototype search_providers in-process"),
    ("api_proto2", "API through {server} (prototype v2: + one statement, cached taxonomy)"),
    ("proto2_search_providers", "prototype v2 parse_query + search_providers in-process"),
    ("api_proto3", "API through {server} (prototype v3: + count capped at ~1000, rating walk)"),
    ("proto3_search_providers", "prototype v3 parse_query + search_providers in-process"),
]


def labels(result):
    server = result.get("server", "gunicorn")
    return [(key, label.format(server=server)) for key, label in LABELS]


def report(result):
    dbs = list(result["databases"])
    lines = []
    lines.append(
        "| layer | "
        + " | ".join(f"{db} p50 / p95 / p99 ms" for db in dbs)
        + " | "
        + " | ".join(f"naive ÷ this, p50 ({db})" for db in dbs)
        + " |"
    )
    lines.append("|---|" + "---|" * (2 * len(dbs)))
    for key, label in labels(result):
        cells, ratios = [], []
        for db in dbs:
            t = result["databases"][db]["timings"].get(key)
            naive = result["databases"][db]["timings"].get("naive_sql")
            if not t:
                cells.append("")
                ratios.append("")
                continue
            s = summary(t)
            cells.append(f"{s['p50']:.2f} / {s['p95']:.2f} / {s['p99']:.2f}")
            ratios.append(f"{pct(naive, 50) / s['p50']:.1f}×" if naive and key != "naive_sql" else "")
        if any(cells):
            lines.append(f"| {label} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    lines.append("")
    lines.append("By area (p50 / p95 ms):")
    lines.append("")
    lines.append("| layer | database | " + " | ".join(WORKLOAD_ZIPS) + " |")
    lines.append("|---|---|" + "---|" * len(WORKLOAD_ZIPS))
    strata = [st for _, _, st in result["items"]]
    for key, label in labels(result):
        for db in dbs:
            t = result["databases"][db]["timings"].get(key)
            if not t:
                continue
            cells = []
            for stratum in WORKLOAD_ZIPS:
                v = [x for x, st in zip(t, strata, strict=False) if st == stratum]
                cells.append(f"{pct(v, 50):.2f} / {pct(v, 95):.2f}" if v else "")
            lines.append(f"| {label} | {db} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sqlite")
    parser.add_argument("--postgres")
    parser.add_argument("-k", type=int, default=500, help="timed queries per layer")
    parser.add_argument("--k-naive", type=int, default=None, help="timed naive-baseline queries (default: k)")
    parser.add_argument(
        "--k-slow", type=int, default=None, help="timed queries of the in-process layers of today's code (default: k)"
    )
    parser.add_argument("--warmup-passes", type=int, default=2, help="API warm-up passes over the distinct queries")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-prototype", dest="prototype", action="store_false")
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--skip-inprocess", action="store_true")
    parser.add_argument("--variants", default="2,3", help="prototype variants to time: 1, 2, 3 (comma-separated)")
    parser.add_argument(
        "--api-kinds", default=None, help="servers: current and/or variants (default: current + variants)"
    )
    parser.add_argument(
        "--server", choices=SERVERS, default="granian", help="the API's app server (granian: what `make serve` runs)"
    )
    parser.add_argument("--out", default="/tmp/search_bench.json")
    parser.add_argument("--child", nargs=2, metavar=("URL", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    combos, items = workload(args.k, args.seed)
    k_naive = args.k if args.k_naive is None else args.k_naive
    k_slow = args.k if args.k_slow is None else args.k_slow
    if args.child:
        variants = tuple(args.variants.split(","))
        out = inprocess(args.child[0], [(s, z, st) for s, z, st in items], k_naive, args.prototype, k_slow, variants)
        Path(args.child[1]).write_text(json.dumps(out))
        return

    urls = {db: url for db, url in (("SQLite", args.sqlite), ("PostgreSQL", args.postgres)) if url}
    if not urls:
        sys.exit("Give --sqlite and/or --postgres.")
    result = {"machine": machine(), "code": fingerprint(), "k": args.k, "k_naive": k_naive, "k_slow": k_slow}
    result.update(radius=RADIUS, sort=SORT, server=args.server)
    result["items"] = items
    result["databases"] = {}
    for db, url in urls.items():
        if args.skip_inprocess:
            result["databases"][db] = {"timings": {}, "mismatches": {}, "new_connection_ms": []}
            continue
        t = time.time()
        tmp = f"/tmp/search_bench_child_{os.getpid()}.json"
        cmd = [sys.executable, __file__, "--child", url, tmp, "-k", str(args.k), "--k-naive", str(k_naive)]
        cmd += ["--k-slow", str(k_slow)]
        cmd += ["--seed", str(args.seed), "--variants", args.variants] + ([] if args.prototype else ["--no-prototype"])
        subprocess.run(cmd, check=True)
        result["databases"][db] = json.loads(Path(tmp).read_text())
        os.unlink(tmp)
        print(f"{db}: in-process layers in {time.time() - t:.0f}s", file=sys.stderr)
    if not args.skip_api:
        t = time.time()
        variants = args.variants.split(",") if args.prototype else []
        kinds = args.api_kinds.split(",") if args.api_kinds else ["current", "old", *variants]
        timings, mismatches, reconnects, _ = api_layer(
            urls, combos, items, kinds, args.warmup_passes, server=args.server
        )
        for name, values in timings.items():
            layer, db = name.split(" ", 1)
            result["databases"][db]["timings"][layer] = values
        for (db, name), bad in mismatches.items():
            result["databases"][db]["mismatches"][name] = bad
        for db in urls:
            result["databases"][db]["api_reconnects"] = {n: r for n, r in reconnects.items() if n.endswith(db)}
        print(f"API layer in {time.time() - t:.0f}s", file=sys.stderr)
    result["machine"]["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    if fingerprint() != result["code"]:
        print("WARNING: the code under carepath/ changed during the run", file=sys.stderr)
        result["code_after"] = fingerprint()
    Path(args.out).write_text(json.dumps(result))

    m = result["machine"]
    print(
        f"{m['date']}; {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB; load {m['loadavg_start']} -> "
        f"{m['loadavg_end']}; K={args.k} (in-process layers of today's code {k_slow}, naive {k_naive}); "
        f"radius {RADIUS} mi, sort={SORT}"
    )
    for db, r in result["databases"].items():
        bad = {k: v for k, v in r["mismatches"].items() if v}
        conn = r["new_connection_ms"]
        print(
            f"{db}: {r.get('n_providers')} providers, {r.get('n_locations')} locations, "
            f"{r.get('n_search_points')} search-table rows; mismatches: {bad or 'none'}"
            + (f"; new connection p50 {pct(conn, 50):.2f} ms" if conn else "")
            + f"; API reconnects {r.get('api_reconnects')}"
        )
    print("code measured (sha256[:12]): " + ", ".join(f"{k.split('/')[-1]} {v}" for k, v in result["code"].items()))
    print()
    print(report(result))


if __name__ == "__main__":
    main()
