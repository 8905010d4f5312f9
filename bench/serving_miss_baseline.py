"""Uncached guide pages: this checkout against another commit, side by side in one run.

    .venv/bin/python bench/serving_miss_baseline.py [--base main] [--seconds 10] [--rounds 2] [--first-port N]

Exports the base commit's tree (git archive, no checkout) to a temporary folder, starts both as `make serve` does
with the page cache off (DATABASE_URL and REDIS_URL from the environment, 2 workers) and alternates wrk at 1 and 4
connections between them, so both see the same machine load. Prints one Markdown table.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from serving import PATH, launch, load_average, ports, wait_until_up, wrk  # noqa: E402

from carepath.serve import production_environment  # noqa: E402


def start(root, workers, port):
    env = production_environment(os.environ)
    env.update(PORT=str(port), PAGE_CACHE="false", WORKERS=str(workers), LOG_LEVEL="WARNING")
    env["PYTHONPATH"] = str(root)  # the tree's own carepath package, ahead of the editable install
    manage = [sys.executable, "-m", "carepath.manage", "collectstatic", "--noinput", "-v0"]
    subprocess.run(manage, env=env, cwd=root, check=True)
    return launch(env, root), f"http://127.0.0.1:{env['PORT']}{PATH}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="main")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--first-port", type=int, help="use ports from this one up (default: any free port)")
    args = parser.parse_args()
    free_ports = ports(args.first_port)
    base_commit = subprocess.run(
        ["git", "rev-parse", "--short", args.base], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "archive", args.base], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        servers = {}
        try:
            for label, root in ((f"{args.base} ({base_commit})", Path(tmp)), (f"this checkout ({head.strip()})", ROOT)):
                servers[label] = start(root, args.workers, next(free_ports))
            for _, url in servers.values():
                wait_until_up(url)
                for _ in range(40):  # warm: every worker has its connections and templates
                    urllib.request.urlopen(url).read()
            rows = []
            for _ in range(args.rounds):
                for label, (_, url) in servers.items():
                    for connections in (1, 4):
                        load = load_average()
                        rows.append((label, connections, wrk(url, connections, args.seconds, threads=1), load))
                        print(rows[-1], flush=True)
        finally:
            for process, _ in servers.values():
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(20)
    print("| code | connections | req/s | p50 ms | p95 ms | p99 ms | errors | load average before |")
    print("|---|---|---|---|---|---|---|---|")
    for label, connections, r, load in rows:
        print(
            f"| {label} | {connections} | {r['rps']:,.1f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | "
            f"{r['p99_ms']:.1f} | {r['socket_errors'] + r['bad_status']} | {load} |"
        )


if __name__ == "__main__":
    main()
