"""What an API request costs before the search: the floor under bench/search_bench.py's API numbers.

    .venv/bin/python bench/search_floor.py --sqlite sqlite:////tmp/carepath_search_bench_1m.sqlite3 \\
        --postgres postgres://postgres@127.0.0.1:5432/carepath_search_bench_1m [-k 300]

Same server set-up as search_bench.py (gunicorn, 1 gthread worker, keep-alive, DEBUG off, persistent database
connections); times, interleaved per database:
- /healthz: Django, the middleware and one trivial database query;
- /api/v1/providers?radius=5: django-ninja's parameter handling and a 400 answer, no database query;
- /api/v1/providers?specialty=207RR0500X&near=99701&radius=1&sort=rating: a whole search that finds nobody
  (Taxonomy look-ups, the search statement on an empty box, JSON);
- the issue's query with one dense and one sparse ZIP, for scale.
"""

import argparse
import sys

import search_bench as sb

PATHS = {
    "healthz": "/healthz",
    "api 400 (no DB)": "/api/v1/providers?radius=5",
    "api, 0 results": "/api/v1/providers?specialty=207RR0500X&near=99701&radius=1&sort=rating",
    "api, sparse (59701 family medicine)": sb.path_for("207Q00000X", "59701"),
    "api, dense (10001 family medicine)": sb.path_for("207Q00000X", "10001"),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sqlite")
    parser.add_argument("--postgres")
    parser.add_argument("-k", type=int, default=300)
    args = parser.parse_args()
    urls = {db: url for db, url in (("SQLite", args.sqlite), ("PostgreSQL", args.postgres)) if url}
    servers = {db: sb.Server(url) for db, url in urls.items()}
    try:
        timings = {(db, name): [] for db in servers for name in PATHS}
        for _ in range(20):
            for server in servers.values():
                for path in PATHS.values():
                    server.get(path)
        for _ in range(args.k):
            for db, server in servers.items():
                for name, path in PATHS.items():
                    ms, status, _ = server.get(path)
                    if status not in (200, 400):
                        sys.exit(f"{db} {path}: {status}")
                    timings[db, name].append(ms)
    finally:
        for server in servers.values():
            server.stop()
    print("| request | " + " | ".join(f"{db} p50 / p95 ms" for db in servers) + " |")
    print("|---|" + "---|" * len(servers))
    for name in PATHS:
        cells = [f"{sb.pct(timings[db, name], 50):.2f} / {sb.pct(timings[db, name], 95):.2f}" for db in servers]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
