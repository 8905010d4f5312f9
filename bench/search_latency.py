"""Site-search latency through a real app server: /api/v1/search and /api/v1/search/suggest over the labelled
queries of bench/search_queries.toml, side by side with plain Wagtail search (no vocabulary) served by the same
server, on each database given.

    .venv/bin/python bench/search_latency.py \\
        --db "SQLite=sqlite:////tmp/medquad.sqlite3" \\
        --db "PostgreSQL=postgres://postgres@127.0.0.1:5432/carepath_medquad" --passes 5 --out /tmp/latency.json

Fill each database first: `carepath migrate`, `carepath load_demo`, `carepath import_medquad DIR` (about 5,500
guides), and `carepath build_vocabulary` where the search needs it.

One server per database: `gunicorn plain_search_wsgi:application` (carepath.wsgi plus the bench-only route
/bench/plain-search; see bench/plain_search_wsgi.py), 1 worker, gthread with 1 thread (so HTTP keep-alive works),
DEBUG off, a random SECRET_KEY, DATABASE_CONN_MAX_AGE=600, started by bench/search_bench.py's Server. Requests go
one at a time from an http.client keep-alive connection in this process; each pass sends, for every labelled query,
the search, the plain search, and the suggest requests for what a reader has typed so far (the first 3 characters,
the first half, and the whole query), rotating the order of the servers and endpoints from one query to the next so
the drift of this shared machine hits all alike. A warm-up pass is not timed. Every response must be 200.
Percentiles are nearest-rank. The serving worker's resident memory (VmRSS, and its peak VmHWM) is read from /proc
at the end.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from search_bench import Server, machine, summary  # noqa: E402
from search_quality import load_queries  # noqa: E402

ENDPOINTS = {
    "search": ("/api/v1/search?q=", "CarePath /api/v1/search"),
    "suggest": ("/api/v1/search/suggest?q=", "CarePath /api/v1/search/suggest"),
    "plain": ("/bench/plain-search?q=", "plain Wagtail search"),
}
GOALS = {"search": 50.0, "suggest": 15.0}


def typed_so_far(q):
    """What a reader has typed when the box asks for suggestions: a few prefixes and the whole query."""
    prefixes = [q[:3], q[: max(4, len(q) // 2)], q]
    return list(dict.fromkeys(p for p in prefixes if p.strip()))


def requests_for(queries):
    """[(endpoint, text)] for one pass, rotated per query."""
    out = []
    for i, query in enumerate(queries):
        batch = [("search", query["q"]), ("plain", query["q"])] + [("suggest", p) for p in typed_so_far(query["q"])]
        shift = i % len(batch)
        out.append(batch[shift:] + batch[:shift])
    return out


def worker_memory(server):
    """(VmRSS, VmHWM) in MB of the gunicorn worker under the server's master process."""
    children = subprocess.run(["pgrep", "-P", str(server.proc.pid)], capture_output=True, text=True).stdout.split()
    if not children:
        return None
    status = Path(f"/proc/{children[0]}/status").read_text().splitlines()
    fields = {line.split(":")[0]: int(line.split()[1]) for line in status if line.startswith(("VmRSS", "VmHWM"))}
    return {"rss_mb": round(fields["VmRSS"] / 1024, 1), "peak_mb": round(fields["VmHWM"] / 1024, 1)}


def run(dbs, queries, passes):
    servers = {label: Server(url, app="plain_search_wsgi:application") for label, url in dbs}
    timings = {label: {e: [] for e in ENDPOINTS} for label in servers}
    available = {label: {} for label in servers}
    try:
        for label, server in servers.items():
            for endpoint, (prefix, _) in ENDPOINTS.items():
                _, status, _ = server.get(prefix + quote("stroke"))
                available[label][endpoint] = status == 200
        plan = requests_for(queries)
        for pass_number in range(passes + 1):  # pass 0 warms up
            for i, batch in enumerate(plan):
                order = list(servers.items())
                order = order[i % len(order) :] + order[: i % len(order)]
                for label, server in order:
                    for endpoint, text in batch:
                        if not available[label][endpoint]:
                            continue
                        ms, status, body = server.get(ENDPOINTS[endpoint][0] + quote(text))
                        if status != 200:
                            raise SystemExit(f"{label} {endpoint} {text!r}: HTTP {status}: {body[:300]!r}")
                        if pass_number:
                            timings[label][endpoint].append(ms)
        memory = {label: worker_memory(server) for label, server in servers.items()}
    finally:
        for server in servers.values():
            server.stop()
    return timings, available, memory


def report(timings, available, memory, queries, passes, info):
    lines = [
        f"{len(queries)} labelled queries x {passes} passes (after one warm-up pass); machine: {info['nproc']} vCPUs "
        f"{info['cpu']}, {info['date']}, load average at start {' '.join(info['loadavg_start'])}, at end "
        f"{' '.join(info['loadavg_end'])}.",
        "",
        "| database | endpoint | requests | p50 ms | p95 ms | p99 ms | goal (p95) | p95 vs plain |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, per_endpoint in timings.items():
        plain = summary(per_endpoint["plain"]) if per_endpoint["plain"] else None
        for endpoint, (_, title) in ENDPOINTS.items():
            if not available[label][endpoint]:
                lines.append(f"| {label} | {title} | not served | | | | | |")
                continue
            s = summary(per_endpoint[endpoint])
            goal = ""
            if endpoint in GOALS:
                goal = f"< {GOALS[endpoint]:g} ms: {'met' if s['p95'] < GOALS[endpoint] else 'MISSED'}"
            ratio = f"{s['p95'] / plain['p95']:.2f}x" if plain and endpoint != "plain" else ""
            lines.append(
                f"| {label} | {title} | {s['n']:,} | {s['p50']:.1f} | {s['p95']:.1f} | {s['p99']:.1f} | "
                f"{goal} | {ratio} |"
            )
    lines.append("")
    for label, mem in memory.items():
        if mem:
            lines.append(
                f"- {label}: serving worker resident memory {mem['rss_mb']} MB at the end (peak {mem['peak_mb']} MB)"
            )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", action="append", required=True, help='"label=DATABASE_URL"; repeat')
    parser.add_argument("--queries", default=str(BENCH / "search_queries.toml"))
    parser.add_argument("--passes", type=int, default=3, help="timed passes over the queries")
    parser.add_argument("--out", help="write every timing here (JSON)")
    args = parser.parse_args()
    dbs = []
    for spec in args.db:
        label, _, url = spec.partition("=")
        if not label or not url:
            sys.exit(f"--db {spec!r}: write it as label=DATABASE_URL")
        dbs.append((label, url))
    queries = load_queries(args.queries)
    info = machine()
    started = time.monotonic()
    timings, available, memory = run(dbs, queries, args.passes)
    info["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    info["seconds"] = round(time.monotonic() - started, 1)
    print(report(timings, available, memory, queries, args.passes, info))
    if args.out:
        Path(args.out).write_text(
            json.dumps({"machine": info, "timings": timings, "available": available, "memory": memory}),
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
