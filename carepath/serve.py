"""`make serve`: CarePath under a production server with production settings, on one machine.

DEBUG off, hashed and compressed static files (whitenoise), the page cache, JSON logs, security headers. The database
and cache come from DATABASE_URL and REDIS_URL (SQLite and local memory when unset). Behind the TLS-terminating proxy
that production puts in front (it sets X-Forwarded-Proto), nothing else changes; for a local run without one, the
HTTP-to-HTTPS redirect is left to that proxy (SECURE_SSL_REDIRECT=false unless set).

The server is granian (see "Serving" in the README for the measurement behind the choice); SERVER=gunicorn runs the
same application under gunicorn instead.
"""

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def production_environment(environ):
    """The environment `make serve` runs with: what the operator set, plus local defaults for what they did not."""
    env = dict(environ)
    env["DEBUG"] = "false"
    var = Path(env.get("CAREPATH_VAR_DIR") or Path(__file__).resolve().parent.parent / "var")
    if not env.get("SECRET_KEY"):
        # A key of this machine's own, kept under var/ (never in the repository) so sessions survive a restart.
        key_file = var / "secret_key"
        if not key_file.exists():
            var.mkdir(parents=True, exist_ok=True)
            key_file.touch(mode=0o600)
            key_file.write_text(secrets.token_urlsafe(64))
        env["SECRET_KEY"] = key_file.read_text().strip()
    host = env.get("HOST") or "127.0.0.1"
    env.setdefault("ALLOWED_HOSTS", ",".join(dict.fromkeys([host, "127.0.0.1", "localhost"])))
    env.setdefault("BEHIND_TLS_PROXY", "true")
    env.setdefault("SECURE_SSL_REDIRECT", "false")
    return env


def default_workers():
    """Two single-threaded worker processes per CPU. Measured on 2 CPUs (bench/RESULTS.md, "Serving"): with one
    worker per CPU and 4 threads each, the 4 keep-alive connections of a run all landed on one worker in 2 runs of
    11, and uncached pages then had a p95 of 53-58 ms (24-44 ms otherwise); with two processes per CPU, the
    operating system shares the CPUs between processes instead of one interpreter's lock being shared by threads."""
    return str(2 * (os.cpu_count() or 1))


def server_command(env):
    host, port = env.get("HOST") or "127.0.0.1", env.get("PORT") or "8000"
    workers = env.get("WORKERS") or default_workers()
    threads = env.get("THREADS") or "1"
    if (env.get("SERVER") or "granian") == "gunicorn":
        return [str(BIN / "gunicorn"), "--bind", f"{host}:{port}", "--workers", workers, "--worker-class", "gthread",
                "--threads", threads, "carepath.wsgi:application"]  # fmt: skip
    return [str(BIN / "granian"), "--interface", "wsgi", "--host", host, "--port", port, "--workers", workers,
            "--blocking-threads", threads, "--no-ws", "carepath.wsgi:application"]  # fmt: skip


def main():
    env = production_environment(os.environ)
    carepath = shutil.which("carepath", path=str(BIN)) or str(BIN / "carepath")
    for step in (["migrate", "--noinput"], ["collectstatic", "--noinput", "-v0"], ["load_demo", "--if-empty"]):
        subprocess.run([carepath, *step], env=env, check=True)
    command = server_command(env)
    print("serving:", " ".join(command), flush=True)
    os.execve(command[0], command, env)


if __name__ == "__main__":
    main()
