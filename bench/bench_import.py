"""Time `carepath import_nppes` against a raw server-side COPY of the same file, on PostgreSQL, in one run.

    .venv/bin/python bench/bench_import.py                      # 1,000,000 rows, writes bench/RESULTS.md
    .venv/bin/python bench/bench_import.py --rows 200000 1000000 --no-write

For each size: generate the file under --data-dir (bench/nppes_generate.py; reused when present), then
1. COPY it server-side into an unindexed 330-column text table: the floor of what loading the file can cost;
2. `carepath import_nppes` it into an empty directory (the first load), as a child process: wall time, and the
   child's peak RSS from wait4();
3. import it again (every provider exists and is unchanged: the monthly re-import);
4. COPY it again, so a machine that got busier or quieter during the run shows up as two different COPY times.
The ratio is import rows/s over the faster COPY's rows/s (the bar is 0.5). Times include the command's start-up.

The bench database (default carepath_nppes_bench) is created and migrated if needed; its directory is emptied.
"""

import argparse
import datetime
import os
import platform
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## NPPES import"
CARE = str(ROOT / ".venv" / "bin" / "carepath")


NOTES = """Reading the numbers (measured on this machine, 2026-11-28; no other session was on it):
- What changed since the earlier runs below: the file is read in chunks of whole records (4 MB) by pyarrow's CSV
  parser, which keeps only the 51 columns the directory reads, and checked a column at a time (NPI check digit,
  dates, names, lengths, ZIP, taxonomy codes); any chunk pyarrow cannot read as one record a line, and any row a
  check is not sure of, goes to the row-by-row reader and parser as before, which also words every reason in the
  report (tests compare the two paths on 35 kinds of rows). A first load on PostgreSQL now sets aside the primary
  keys, the unique (provider, taxonomy) constraint and the reviews' foreign key as well, and COPYs each batch (CSV
  made by pyarrow) straight into the four bare tables: nothing is looked up while loading. Reading, checking and
  making the CSV run in three threads, the COPYs in the fourth; batches of 20,000 rows (5,000 left the COPYs waiting
  on round trips: rows phase 12.3 -> 10.8 s); pyarrow's jemalloc pool (its default, mimalloc: 27.5 s and 456 MB
  against 23 s and 406 MB); the unused index on the locations' coordinates is gone (migration 0008); ANALYZE runs on
  the two build connections.
- **The bar (0.5) is met at 1,000,000 rows: 0.56 and 0.58** in two runs (19:03 and 19:00 UTC, the second under
  "Earlier runs"). At 200,000 rows the ratio is 0.33: the start-up and the build's fixed costs weigh more on a
  smaller file. Side by side on this machine at 18:12 UTC, the code before this work (commit 99dad97) measured
  COPY 15.9 / 15.0 s, import 51.2 s, ratio 0.29, re-import 43.1 s, peak RSS 301 MB.
- Where the time goes now (1M rows, in-process timing): start-up 1.5 s, rows 10-12 s (the Python side is about 12 s
  of CPU on its own, pyarrow reading 3.0, checking 3.9, CSV 2.9; PostgreSQL's COPYs use about 65% of a CPU), and
  the final build 11-12 s: 4 primary keys, 1 unique constraint, 7 indexes and 3 foreign keys on two connections,
  the search entries' (taxonomy, cell, rating, ...) index alone 4.4-4.8 s. The same build from psql, one statement
  after another, took 16.7 s, and COPYing the four tables' rows from CSV files 7.1 s: that is the floor of this
  design, about 20 s with the start-up, against the raw COPY's 14-16 s.
- Memory: at most a few batches in flight (two chunks read ahead, two batches checked ahead, one being written)
  and a 25 MB bitmap of the NPIs a first load has written, so peak RSS does not grow with the file: 411 MB for
  200,000 rows, 417-418 MB for 1,000,000 (bar: under 500 MB). The ZIP index now reads zipcodes a slice at a time (its list_all() kept 42,000 dicts, about 90 MB).
- A re-import of the same file goes through the staging table and the set-based merge (nothing is rewritten when
  nothing changed); it gained from the reading too (43.1 -> 31-35 s). Tried and dropped: parallel maintenance
  workers for the build (no gain with two CPUs and two build connections); a 0.5 ms GIL switch interval no longer
  matters (the checks run in pyarrow and numpy).
"""


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    mem = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    return f"{os.cpu_count()} CPUs ({cpu}), {mem / 1024**2:.0f} GB RAM, Linux {platform.release()}"


def commit():
    found = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return found.stdout.strip() or "?"


def ensure_database(url):
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([CARE, "migrate", "--noinput", "-v0"], env=child_env(url), check=True)


def child_env(url):
    # Production settings (DEBUG off), so the timing is not that of a debug cursor.
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "localhost",
    }


def generated_file(rows, directory):
    path = Path(directory) / f"npidata_pfile_bench_{rows}.csv"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(ROOT / "bench" / "nppes_generate.py"), str(rows), str(path)], check=True)
    return path


def raw_copy(url, path):
    """Seconds for a server-side COPY of the whole file into a fresh, unindexed table of 330 text columns."""
    with open(path, encoding="utf-8") as f:
        width = f.readline().count('","') + 1
    columns = ", ".join(f"c{i} text" for i in range(width))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_nppes_raw")
        conn.execute(f"CREATE TABLE bench_nppes_raw ({columns})")
        started = time.perf_counter()
        conn.execute(f"COPY bench_nppes_raw FROM '{path}' WITH (FORMAT csv, HEADER true)")
        seconds = time.perf_counter() - started
        conn.execute("DROP TABLE bench_nppes_raw")
    return seconds


def timed_import(url, path, batch_size):
    """(seconds, peak RSS in MB, summary line) of `carepath import_nppes` run as a child process."""
    command = [CARE, "import_nppes", str(path), "--report", f"{path}.errors.csv", "-v0"]
    if batch_size:
        command += ["--batch-size", str(batch_size)]
    started = time.perf_counter()
    child = subprocess.Popen(command, env=child_env(url), stdout=subprocess.PIPE, text=True)
    summary = child.stdout.read().strip()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"import_nppes failed ({child.returncode}): {summary}")
    return seconds, usage.ru_maxrss / 1024, summary


def empty_directory(url):
    """Every provider out, and what is derived from them (the search entries have no foreign key to cascade on)."""
    with psycopg.connect(url, autocommit=True) as conn:
        derived = [t for (t,) in conn.execute("SELECT to_regclass('directory_providersearchentry')::text") if t]
        conn.execute(f"TRUNCATE {', '.join(['directory_provider', *derived])} CASCADE")
        conn.execute("VACUUM ANALYZE directory_provider, directory_providerspecialty, directory_practicelocation")


def bench(url, rows, batch_size, directory):
    path = generated_file(rows, directory)
    empty_directory(url)
    load = os.getloadavg()[0]
    copy1 = raw_copy(url, path)
    first, rss, summary = timed_import(url, path, batch_size)
    again, rss_again, _ = timed_import(url, path, batch_size)
    copy2 = raw_copy(url, path)
    copy = min(copy1, copy2)
    result = {
        "rows": rows,
        "mb": path.stat().st_size / 1e6,
        "copy": f"{copy1:.1f} s / {copy2:.1f} s",
        "copy_rate": rows / copy,
        "import": first,
        "import_rate": rows / first,
        "ratio": copy / first,
        "again": again,
        "again_rate": rows / again,
        "rss": max(rss, rss_again),
        "load": f"{load:.1f} / {os.getloadavg()[0]:.1f}",
        "summary": summary,
    }
    print(
        f"{rows:,} rows ({result['mb']:,.0f} MB): COPY {result['copy']} ({result['copy_rate']:,.0f} rows/s); "
        f"import {first:.1f} s ({result['import_rate']:,.0f} rows/s, ratio {result['ratio']:.2f}); "
        f"re-import {again:.1f} s ({result['again_rate']:,.0f} rows/s); peak RSS {result['rss']:.0f} MB",
        file=sys.stderr,
    )
    return result


def section(results, url, batch_size, started):
    with psycopg.connect(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        buffers = conn.execute("SHOW shared_buffers").fetchone()[0]
    lines = [
        SECTION,
        "",
        f"Run {started:%Y-%m-%d %H:%M}-{datetime.datetime.now(datetime.UTC):%H:%M} UTC by `bench/bench_import.py` "
        f"(commit {commit()}) on {machine()}; PostgreSQL {version} "
        f"(shared_buffers {buffers}) on the same machine. Input: `bench/nppes_generate.py` files in the real "
        "330-column layout (about 1.2 KB a row, like the CMS file), 2% deactivated NPIs. Batch size "
        f"{batch_size or 'default (20,000)'}. Times include the command's start-up (about 1.5 s).",
        "",
        "| rows | file | raw COPY (before / after) | COPY rows/s | import (empty directory) | import rows/s "
        "| ratio (bar 0.5) | re-import, unchanged | re-import rows/s | import peak RSS | load avg (start / end) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['rows']:,} | {r['mb']:,.0f} MB | {r['copy']} | {r['copy_rate']:,.0f} | {r['import']:.1f} s "
            f"| {r['import_rate']:,.0f} | {r['ratio']:.2f} | {r['again']:.1f} s | {r['again_rate']:,.0f} "
            f"| {r['rss']:.0f} MB | {r['load']} |"
        )
    lines += ["", "Import summaries: " + "; ".join(f"`{r['summary']}`" for r in results), ""]
    lines += [
        f"Reproduce: `.venv/bin/python bench/bench_import.py --rows {' '.join(str(r['rows']) for r in results)}`",
        "",
    ]
    lines += [NOTES]
    return "\n".join(lines)


def write_results(text):
    """Replace this benchmark's section of RESULTS.md (other sections belong to other benchmarks); the runs the old
    section showed are kept under "Earlier runs", newest first."""
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    found = pattern.search(old)
    if not found:
        RESULTS.write_text(old.rstrip("\n") + "\n\n" + text, encoding="utf-8")
        return
    if earlier := earlier_runs(found[0]):
        text = f"{text.rstrip()}\n\n{EARLIER}\n\n{earlier}\n"
    RESULTS.write_text(old[: found.start()] + text + "\n" + old[found.end() :], encoding="utf-8")


EARLIER = "### Earlier runs"


def earlier_runs(section):
    """The run a section shows (from its "Run ..." line to its summaries) and the earlier runs it keeps."""
    current = re.search(r"^Run .*?^Import summaries: .*?$", section.split(EARLIER)[0], re.S | re.M)
    kept = section.split(f"{EARLIER}\n", 1)[1].strip() if EARLIER in section else ""
    return "\n\n".join(part for part in (current[0] if current else "", kept) if part)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/carepath_nppes_bench")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument(
        "--data-dir", default="/tmp", help="where the generated files are kept (PostgreSQL's server must read them)"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)
    ensure_database(args.database_url)
    started = datetime.datetime.now(datetime.UTC)
    results = [bench(args.database_url, rows, args.batch_size, args.data_dir) for rows in args.rows]
    text = section(results, args.database_url, args.batch_size, started)
    print(text)
    if not args.no_write:
        write_results(text)


if __name__ == "__main__":
    main()
