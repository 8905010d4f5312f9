"""Search quality over the labelled lay queries of bench/search_queries.toml: recall@1, recall@3 and MRR of
CarePath's search (/api/v1/search, through Django's test client) and of plain Wagtail search without the vocabulary
(Page.objects.live().type(ConditionPage, SlideshowPage).specific().search(q)), side by side, per database.

    .venv/bin/python bench/search_quality.py \\
        --db "demo, SQLite=sqlite:////tmp/demo.sqlite3" \\
        --db "demo + MedQuAD, SQLite=sqlite:////tmp/medquad.sqlite3" \\
        --db "demo + MedQuAD, PostgreSQL=postgres://postgres@127.0.0.1:5432/carepath_medquad" --misses

Each database must be migrated and hold the demo library (`carepath load_demo`), and for the "+ MedQuAD" runs the
imported collection (`carepath import_medquad DIR`); build the vocabulary first where the search needs it
(`carepath build_vocabulary`). Each database is measured in its own child process (Django binds one database at
start-up). A query counts as found at rank r when the r-th result's URL is its guide's /conditions/<guide>/;
MRR takes 1/r over the first 10 results, 0 when the guide is not among them.
"""

import argparse
import json
import os
import subprocess
import sys
import tomllib
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
QUERIES = BENCH / "search_queries.toml"
DEPTH = 10
METHODS = {"ours": "CarePath /api/v1/search", "plain": "plain Wagtail search"}


def load_queries(path=QUERIES):
    queries = tomllib.loads(Path(path).read_text(encoding="utf-8"))["query"]
    for query in queries:
        query["url"] = f"/conditions/{query['guide']}/"
    return queries


# --- In the child process: one database ---------------------------------------------------------------------------


def setup_django(database_url):
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carepath.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def ours(client):
    """URLs of /api/v1/search's results, best first; None when this tree has no such endpoint."""
    from django.urls import Resolver404, resolve

    try:
        resolve("/api/v1/search")
    except Resolver404:
        return lambda q: None

    def search(q):
        response = client.get("/api/v1/search", {"q": q}, HTTP_HOST="localhost")
        if response.status_code != 200:
            raise RuntimeError(f"/api/v1/search?q={q!r}: HTTP {response.status_code}: {response.content[:300]!r}")
        return [r["url"] for r in response.json()["results"]]

    return search


def plain():
    from wagtail.models import Page

    from carepath.conditions.models import ConditionPage, SlideshowPage

    pages = Page.objects.live().type(ConditionPage, SlideshowPage).specific()

    def search(q):
        return [page.url for page in pages.search(q)[:DEPTH]]

    return search


def measure(database_url, queries):
    setup_django(database_url)
    from django.test import Client
    from wagtail.models import Page

    from carepath.conditions.models import ConditionPage

    out = {
        "guides": ConditionPage.objects.live().count(),
        "imported": ConditionPage.objects.live().exclude(imported_from="").count(),
        "pages": Page.objects.live().count(),
        "methods": {},
    }
    for method, search in (("ours", ours(Client())), ("plain", plain())):
        ranks, tops = [], []
        for query in queries:
            urls = search(query["q"])
            if urls is None:
                break
            urls = urls[:DEPTH]
            ranks.append(urls.index(query["url"]) + 1 if query["url"] in urls else None)
            tops.append(urls[:3])
        else:
            out["methods"][method] = {"ranks": ranks, "tops": tops}
    return out


# --- In the parent: every database, side by side --------------------------------------------------------------------


def scores(ranks):
    n = len(ranks)
    return {
        "recall@1": sum(1 for r in ranks if r == 1) / n,
        "recall@3": sum(1 for r in ranks if r and r <= 3) / n,
        "mrr": sum(1 / r for r in ranks if r) / n,
    }


def run_child(database_url, queries_path):
    child = subprocess.run(
        [sys.executable, __file__, "--child", database_url, "--queries", str(queries_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if child.returncode:
        sys.exit(f"measuring {database_url} failed:\n{child.stderr[-3000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def report(results, queries, show_misses):
    lines = [
        f"{len(queries)} labelled queries ({', '.join(f'{k} {v}' for k, v in kinds(queries).items())}), "
        f"{len({q['guide'] for q in queries})} guides.",
        "",
        "| database | live guides (imported) | search | recall@1 | recall@3 | MRR |",
        "|---|---|---|---|---|---|",
    ]
    for label, result in results.items():
        for method, title in METHODS.items():
            data = result["methods"].get(method)
            if data is None:
                lines.append(f"| {label} | {result['guides']:,} ({result['imported']:,}) | {title} | n/a | n/a | n/a |")
                continue
            s = scores(data["ranks"])
            lines.append(
                f"| {label} | {result['guides']:,} ({result['imported']:,}) | {title} | "
                f"{s['recall@1']:.3f} | {s['recall@3']:.3f} | {s['mrr']:.3f} |"
            )
    lines += ["", "recall@3 by kind of query:", ""]
    header = "| database | search | " + " | ".join(kinds(queries)) + " |"
    lines += [header, "|---|---|" + "---|" * len(kinds(queries))]
    for label, result in results.items():
        for method, title in METHODS.items():
            data = result["methods"].get(method)
            if data is None:
                continue
            by_kind = defaultdict(list)
            for query, rank in zip(queries, data["ranks"], strict=True):
                by_kind[query["kind"]].append(rank)
            cells = " | ".join(f"{scores(by_kind[k])['recall@3']:.2f}" for k in kinds(queries))
            lines.append(f"| {label} | {title} | {cells} |")
    if show_misses:
        for label, result in results.items():
            data = result["methods"].get("ours")
            if data is None:
                continue
            misses = [
                (q, r, top) for q, r, top in zip(queries, data["ranks"], data["tops"], strict=True) if not r or r > 3
            ]
            lines += ["", f"Misses of /api/v1/search (not in the top 3) on {label}: {len(misses)}"]
            for query, rank, top in misses:
                lines.append(f"- {query['q']!r} -> {query['url']} ({query['kind']}): rank {rank or '>10'}; top 3 {top}")
    return "\n".join(lines)


def kinds(queries):
    counts = defaultdict(int)
    for query in queries:
        counts[query["kind"]] += 1
    return dict(sorted(counts.items()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", action="append", help='"label=DATABASE_URL"; repeat; default: $DATABASE_URL')
    parser.add_argument("--queries", default=str(QUERIES), help="the labelled queries (TOML)")
    parser.add_argument("--misses", action="store_true", help="list the queries our search misses in its top 3")
    parser.add_argument("--out", help="write every rank and top 3 here (JSON)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    queries = load_queries(args.queries)
    if args.child:
        print(json.dumps(measure(args.child, queries)))
        return
    dbs = args.db or [f"{os.environ.get('DATABASE_URL', 'default')}={os.environ.get('DATABASE_URL', '')}"]
    results = {}
    for spec in dbs:
        label, _, url = spec.partition("=")
        if not label or not url:
            sys.exit(f"--db {spec!r}: write it as label=DATABASE_URL")
        results[label] = run_child(url, args.queries)
    print(report(results, queries, args.misses))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
