"""Serving benchmark: one guide page through wrk, side by side in one run.

    .venv/bin/python bench/serving.py [--seconds 20] [--connections 32] [--servers granian,gunicorn] [--first-port N]

For each server it starts CarePath as `make serve` does (production settings, DATABASE_URL and REDIS_URL from the
environment) twice, with the page cache on (hits) and off (misses), and nginx (Debian's, with a config of its own on
a free port, never the system service) serving the same HTML from a file. Prints one Markdown table.
"""

import argparse
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from carepath.serve import production_environment, server_command  # noqa: E402
from carepath.testing import free_port  # noqa: E402

PATH = "/conditions/muscle-atrophy/"
LUA = Path(__file__).with_name("wrk_summary.lua")

NGINX_CONF = """
worker_processes {workers};
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    default_type text/html;
    client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {tmp}/www;
        location / {{ try_files $uri $uri/index.html =404; }}
    }}
}}
"""


def ports(first):
    """Ports for the servers a run starts: from `first` up (a range of its own on a shared machine), else free ones."""
    return itertools.count(first) if first else iter(free_port, None)


def wait_until_up(url, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer in {seconds} s")


def wrk(url, connections, seconds, threads=2):
    out = subprocess.run(
        ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds}s", "-s", str(LUA), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(re.search(r"WRK_JSON (.*)", out).group(1))


def start_app(server, page_cache, port, workers, redis=True):
    env = production_environment(os.environ)
    if not redis:
        env.pop("REDIS_URL", None)
    env.update(SERVER=server, PORT=str(port), PAGE_CACHE="true" if page_cache else "false", WORKERS=str(workers))
    env.setdefault("LOG_LEVEL", "WARNING")  # request logs cost the same everywhere; kept off the measurement
    process = subprocess.Popen(
        server_command(env),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return process


def stop(process):
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def load_average():
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--servers", default="granian,gunicorn")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--first-port", type=int, help="use ports from this one up (default: any free port)")
    args = parser.parse_args()
    free_ports = ports(args.first_port)
    env = production_environment(os.environ)
    subprocess.run([str(ROOT / ".venv/bin/carepath"), "collectstatic", "--noinput", "-v0"], env=env, check=True)
    rows = []
    html = None
    variants = [(server, cached, True) for server in args.servers.split(",") for cached in (True, False)]
    if os.environ.get("REDIS_URL"):
        variants.insert(1, (args.servers.split(",")[0], True, False))  # the one-machine set-up: no Redis
    for server, cached, redis in variants:
        port = next(free_ports)
        app = start_app(server, cached, port, args.workers, redis)
        try:
            url = f"http://127.0.0.1:{port}{PATH}"
            html = wait_until_up(url)
            for _ in range(50 if not cached else 200):  # warm: every worker has its connections and templates
                urllib.request.urlopen(url).read()
            store = "Redis" if redis and os.environ.get("REDIS_URL") else "local memory"
            label = f"{server}, page cache {f'hit ({store})' if cached else 'off (miss)'}"
            load = load_average()
            rows.append((label, args.connections, wrk(url, args.connections, args.seconds), load))
            print(rows[-1], flush=True)
            if not cached:
                rows.append((label, 4, wrk(url, 4, args.seconds, threads=1), load_average()))
                print(rows[-1], flush=True)
        finally:
            stop(app)
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)  # nginx's workers run as an unprivileged user
        (Path(tmp) / "www/conditions/muscle-atrophy").mkdir(parents=True)
        (Path(tmp) / "www/conditions/muscle-atrophy/index.html").write_bytes(html)
        port = next(free_ports)
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=tmp, port=port, workers=args.workers))
        subprocess.run(["nginx", "-c", str(conf), "-p", tmp], check=True)
        try:
            url = f"http://127.0.0.1:{port}{PATH}"
            wait_until_up(url)
            nginx = wrk(url, args.connections, args.seconds)
            rows.insert(0, ("nginx, the same HTML from a file", args.connections, nginx, load_average()))
        finally:
            subprocess.run(["nginx", "-c", str(conf), "-p", tmp, "-s", "stop"], check=False)
    print(f"{len(html)} bytes of HTML; wrk {args.seconds} s per row; {args.workers} server workers")
    print("| what | connections | req/s | vs nginx | p50 ms | p95 ms | p99 ms | errors | load average before |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, connections, r, load in rows:
        ratio = r["rps"] / nginx["rps"] if connections == args.connections else None
        print(
            f"| {label} | {connections} | {r['rps']:,.0f} | {f'{ratio:.0%}' if ratio else '-'} | {r['p50_ms']:.2f} | "
            f"{r['p95_ms']:.2f} | {r['p99_ms']:.2f} | {r['socket_errors'] + r['bad_status']} | {load} |"
        )


if __name__ == "__main__":
    main()
