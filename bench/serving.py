"""Serving benchmark: one guide page through wrk, side by side in one run.

    .venv/bin/python bench/serving.py [--seconds 20] [--connections 32] [--servers granian,gunicorn] [--rounds 1]
        [--hits-only] [--ports 8400-8449]

For each server it starts CarePath as `make serve` does (production settings, DATABASE_URL and REDIS_URL from the
environment) twice, with the page cache on (hits) and off (misses); with REDIS_URL set, the first server also runs
with the page cache in local memory and with Redis read on every hit (PAGE_CACHE_MAX_STALE_MS=0, how hits worked
before the bound). nginx (Debian's, with a config of its own on a free port, never the system service) serves the
same HTML from a file. All of them run from the start; wrk rows alternate between nginx and each app, `--rounds`
times, and each app row's ratio is to the mean of the nginx rows just before and after it, so a machine whose load
changes during the run (a shared one) affects both sides alike. Prints Markdown tables.
"""

import argparse
import itertools
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from carepath.serve import default_workers, production_environment, server_command  # noqa: E402
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
    """Ports from `first` up (a range of one's own on a shared machine), else free ones (serving_miss_baseline.py)."""
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


def port_in(ports, taken):
    """A free port not in the set `taken` (which it joins): from a range such as 8400-8449, or any."""
    low, high = (int(n) for n in ports.split("-")) if ports else (None, None)
    candidates = range(low, high + 1) if ports else iter(free_port, None)
    for port in candidates:
        if port in taken:
            continue
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is no obstacle
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise RuntimeError(f"no free port in {ports}")


def start_app(server, page_cache, port, workers, redis=True, extra=None):
    env = production_environment(os.environ)
    if not redis:
        env.pop("REDIS_URL", None)
    env.update(extra or {})
    env.update(SERVER=server, PORT=str(port), PAGE_CACHE="true" if page_cache else "false", WORKERS=str(workers))
    env.setdefault("LOG_LEVEL", "WARNING")  # request logs cost the same everywhere; kept off the measurement
    return launch(env, ROOT)


def launch(env, root):
    """The app server `make serve` would run with `env`, from the tree at `root`, in a process group of its own."""
    return subprocess.Popen(
        server_command(env),
        env=env,
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


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
    parser.add_argument("--workers", type=int, default=int(default_workers()), help="app workers, and nginx's")
    parser.add_argument("--rounds", type=int, default=1, help="times each app row is measured")
    parser.add_argument("--hits-only", action="store_true", help="leave out the page-cache-off rows")
    parser.add_argument("--ports", default="", help="a range to take ports from, such as 8400-8449")
    args = parser.parse_args()
    env = production_environment(os.environ)
    subprocess.run([str(ROOT / ".venv/bin/carepath"), "collectstatic", "--noinput", "-v0"], env=env, check=True)
    servers = args.servers.split(",")
    redis_url = os.environ.get("REDIS_URL")
    # (server, page cache on, Redis, extra environment, how the hit is served)
    variants = []
    for server in servers:
        variants.append((server, True, True, {}, "Redis" if redis_url else "local memory"))
        if redis_url and server == servers[0]:
            variants.append((server, True, False, {}, "local memory"))  # the one-machine set-up: no Redis
            every = {"PAGE_CACHE_MAX_STALE_MS": "0"}
            variants.append((server, True, True, every, "Redis, counters read on every hit"))
        if not args.hits_only:
            variants.append((server, False, True, {}, None))
    html = wait_for_page(servers[0], args)
    ports, apps = set(), []
    rows = []  # (label, connections, wrk result, load average before, ratio to the nginx rows either side)
    try:
        # Every app runs from the start (an idle one costs no CPU), so the rows can alternate with nginx's.
        for server, cached, redis, extra, store in variants:
            port = port_in(args.ports, ports)
            label = f"{server}, page cache {f'hit ({store})' if cached else 'off (miss)'}"
            apps.append((label, cached, port, start_app(server, cached, port, args.workers, redis, extra)))
        for _, cached, port, _ in apps:
            url = f"http://127.0.0.1:{port}{PATH}"
            wait_until_up(url)
            for _ in range(50 if not cached else 200):  # warm: every worker has its connections and templates
                urllib.request.urlopen(url).read()
        with Nginx(html, port_in(args.ports, ports), args.workers) as nginx_url:

            def measure(label, url, connections=args.connections, threads=2):
                load = load_average()
                rows.append([label, connections, wrk(url, connections, args.seconds, threads), load, None])
                print(rows[-1][:4], flush=True)
                return rows[-1]

            before = measure("nginx, the same HTML from a file", nginx_url)
            for _ in range(args.rounds):
                for label, cached, port, _ in apps:
                    url = f"http://127.0.0.1:{port}{PATH}"
                    row = measure(label, url)
                    if not cached:
                        measure(label, url, 4, threads=1)
                    after = measure("nginx, the same HTML from a file", nginx_url)
                    row[4] = row[2]["rps"] / ((before[2]["rps"] + after[2]["rps"]) / 2)
                    before = after
    finally:
        for *_, app in apps:
            stop(app)
    print(f"{len(html)} bytes of HTML; wrk {args.seconds} s per row; {args.workers} server workers; rows in order")
    print("vs nginx: req/s over the mean of the nginx rows just before and just after")
    print("| what | connections | req/s | vs nginx | p50 ms | p95 ms | p99 ms | errors | load average before |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, connections, r, load, ratio in rows:
        print(
            f"| {label} | {connections} | {r['rps']:,.0f} | {f'{ratio:.0%}' if ratio else '-'} | {r['p50_ms']:.2f} | "
            f"{r['p95_ms']:.2f} | {r['p99_ms']:.2f} | {r['socket_errors'] + r['bad_status']} | {load} |"
        )
    print("| what | median vs nginx over the rounds |")
    print("|---|---|")
    for label, *_ in apps:
        ratios = [row[4] for row in rows if row[0] == label and row[4]]
        print(f"| {label} | {statistics.median(ratios):.0%} ({', '.join(f'{r:.0%}' for r in ratios)}) |")


def wait_for_page(server, args):
    """The page's HTML as the app serves it, for nginx to serve from a file."""
    port = port_in(args.ports, set())
    app = start_app(server, False, port, 1)
    try:
        return wait_until_up(f"http://127.0.0.1:{port}{PATH}")
    finally:
        stop(app)


class Nginx:
    """nginx with a configuration of its own in a temporary directory, serving `html` at PATH."""

    def __init__(self, html, port, workers):
        self.html, self.port, self.workers = html, port, workers

    def __enter__(self):
        self.tmp = tempfile.TemporaryDirectory()
        tmp = self.tmp.name
        os.chmod(tmp, 0o755)  # nginx's workers run as an unprivileged user
        (Path(tmp) / "www" / PATH.strip("/")).mkdir(parents=True)
        (Path(tmp) / "www" / PATH.strip("/") / "index.html").write_bytes(self.html)
        self.conf = Path(tmp) / "nginx.conf"
        self.conf.write_text(NGINX_CONF.format(tmp=tmp, port=self.port, workers=self.workers))
        subprocess.run(["nginx", "-c", str(self.conf), "-p", tmp], check=True)
        url = f"http://127.0.0.1:{self.port}{PATH}"
        wait_until_up(url)
        return url

    def __exit__(self, *exc):
        subprocess.run(["nginx", "-c", str(self.conf), "-p", self.tmp.name, "-s", "stop"], check=False)
        self.tmp.cleanup()


if __name__ == "__main__":
    main()
