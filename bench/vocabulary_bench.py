"""The search vocabulary's costs: `build_vocabulary` time and peak memory, the time to load the in-memory index,
and the resident memory of one serving worker before and after the vocabulary is loaded.

    .venv/bin/python bench/vocabulary_bench.py --db "demo, SQLite=sqlite:////tmp/demo.sqlite3" [--db ...] [--runs 3]

Each database must be migrated and hold the library to measure (`carepath load_demo`, and `carepath
import_medquad DIR` for a large one). Every figure comes from a fresh child process, so one measurement's memory
does not leak into the next. The worker is a real gunicorn worker (1 process, sync) on a free loopback port;
its RSS is read from /proc before any search (after the home page and a guide were served: the baseline) and
after /api/v1/search and /api/v1/search/suggest loaded the vocabulary.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child_env(database_url):
    env = dict(os.environ, DATABASE_URL=database_url, DEBUG="true", DJANGO_SETTINGS_MODULE="carepath.settings")
    env.pop("REDIS_URL", None)
    return env


def setup_django(database_url):
    os.environ.update(child_env(database_url))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def rss_mb(pid="self"):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def measure_build(database_url):
    """In a child: time and peak RSS of build_vocabulary, and of loading the index it wrote."""
    setup_django(database_url)
    from django.db import connection

    from carepath.conditions.models import ConditionPage

    ConditionPage.objects.live().count()  # connect, so the baseline includes the database driver
    before = rss_mb()
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    from carepath.conditions import vocab
    from carepath.vocabulary import sources
    from carepath.vocabulary.build import build_vocabulary
    from carepath.vocabulary.index import load_index

    started = time.perf_counter()
    concepts = build_vocabulary()
    build_seconds = time.perf_counter() - started
    # The same build again, the code systems already in memory: what a publish costs per page, in bulk.
    started = time.perf_counter()
    build_vocabulary()
    warm_seconds = time.perf_counter() - started
    assert sources.hpo_vocabulary() and vocab.icd10cm_description("M62.50")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    _, index = load_index()
    load_seconds = time.perf_counter() - started
    terms = len(index.term_text)
    connection.close()
    return {
        "concepts": concepts,
        "terms": terms,
        "build_s": build_seconds,
        "warm_build_s": warm_seconds,
        "load_s": load_seconds,
        "rss_before_mb": before,
        "peak_rss_mb": max(peak, peak_before),
        "peak_growth_mb": max(peak, peak_before) - before,
    }


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    with urllib.request.urlopen(url, timeout=60) as response:
        response.read()
        return response.status


def measure_worker(database_url):
    """One gunicorn worker: RSS after serving pages (baseline) and after the vocabulary is loaded."""
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "carepath.wsgi", "-w", "1", "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT,
        env=child_env(database_url),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get(f"{base}/healthz")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.3)
        worker = int(Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()[0])
        for path in ("/", "/conditions/muscle-atrophy/", "/search/", "/api/v1/openapi.json"):
            get(base + path)
        baseline = rss_mb(worker)
        get(f"{base}/api/v1/search?q=lou%20gehrig")
        get(f"{base}/api/v1/search/suggest?q=rheu")
        for q in ("rheumatiod", "M62.50", "wasting%20muscles", "MS", "back%20pain"):
            get(f"{base}/api/v1/search?q={q}")
            get(f"{base}/api/v1/search/suggest?q={q}")
        loaded = rss_mb(worker)
        return {"worker_baseline_mb": baseline, "worker_loaded_mb": loaded, "vocabulary_mb": loaded - baseline}
    finally:
        server.terminate()
        server.wait(timeout=20)


def run_child(kind, database_url):
    child = subprocess.run(
        [sys.executable, __file__, "--child", kind, database_url], capture_output=True, text=True, timeout=1800
    )
    if child.returncode:
        sys.exit(f"{kind} on {database_url} failed:\n{child.stderr[-3000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", action="append", default=[], metavar="LABEL=DATABASE_URL")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, database_url = args.child
        print(json.dumps(measure_build(database_url) if kind == "build" else measure_worker(database_url)))
        return
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print(
        "| library, database | concepts | terms | build_vocabulary s, median (a second build, code systems loaded) "
        "| build peak RSS MB (growth) | index load s | worker RSS MB before -> after vocabulary |"
    )
    print("|---|---|---|---|---|---|---|")
    for spec in args.db:
        label, database_url = spec.rsplit("=", 1) if "=" in spec.split("://")[0] else (spec, spec)
        builds = [run_child("build", database_url) for _ in range(args.runs)]
        workers = [run_child("worker", database_url) for _ in range(args.runs)]

        def median(rows, key):
            return statistics.median(r[key] for r in rows)

        print(
            f"| {label} | {builds[0]['concepts']} | {builds[0]['terms']} | {median(builds, 'build_s'):.2f} "
            f"({median(builds, 'warm_build_s'):.2f}) "
            f"| {median(builds, 'peak_rss_mb'):.0f} (+{median(builds, 'peak_growth_mb'):.0f}) "
            f"| {median(builds, 'load_s'):.3f} "
            f"| {median(workers, 'worker_baseline_mb'):.0f} -> {median(workers, 'worker_loaded_mb'):.0f} "
            f"(+{median(workers, 'vocabulary_mb'):.1f}) |"
        )
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
