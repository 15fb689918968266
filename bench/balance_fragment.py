"""Requests per second to the balance fragment (/wallet/balance/) through gunicorn, against a bare one-query
Django view served by the same gunicorn in the same run, and the SQL queries each request costs.

    .venv/bin/python bench/balance_fragment.py [--seconds 2.5] [--rounds 5] [--clients 4] [--workers 2]

The script creates a PostgreSQL database ``bench_fragment`` on 127.0.0.1 (dropped at the end), a shopper with a
wallet and a logged-in session, and starts gunicorn (sync workers, as in the Procfile) on a free loopback port
with bench/wallet_bench_settings.py: the test settings with DEBUG off and persistent connections, the shop's URLs
plus ``/bench/bare/``. Client processes then request one URL as fast as they can for ``--seconds``, alternating
between the two URLs for ``--rounds`` rounds; figures are medians, the ratio the median of the rounds' ratios.
The fragment is fetched as htmx does after ``balance-changed``: with the session cookie and HX-Request, no
If-None-Match (a full 200, the dearer case).
Target: fragment / bare >= 0.6, and at most 2 SQL queries per fragment request.
"""

import argparse
import http.client
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time

from _common import (
    ROOT,
    bench_environment,
    claim_redis_db,
    django_on_fresh_database,
    print_row,
    run_database,
    wait_until,
)

DATABASE = run_database("bench_fragment")
REDIS_DB = claim_redis_db()
SETTINGS = "bench.wallet_bench_settings"
TARGET = 0.6
MAX_QUERIES = 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port, path, headers, timeout=10.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def start_gunicorn(port, workers):
    env = {**os.environ, **bench_environment(database=DATABASE, redis_db=REDIS_DB, settings=SETTINGS)}
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--chdir", str(ROOT), "--log-level", "warning", "--timeout", "30"]
    server = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        try:
            if get(port, "/bench/bare/", {}, timeout=2)[0] == 200:
                return server
        except OSError:
            time.sleep(0.2)
    stop(server)
    raise SystemExit("gunicorn did not answer within 30 seconds")


def stop(server):
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _client(port, path, headers, start_at, seconds, results):
    ok = failed = 0
    wait_until(start_at)
    end = start_at + seconds
    while time.time() < end:
        try:
            status = get(port, path, headers)[0]
        except OSError:
            status = 0
        if status == 200:
            ok += 1
        else:
            failed += 1
    results.put((ok, failed))


def requests_per_second(port, path, headers, *, clients, seconds) -> float:
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    start_at = time.time() + 0.5
    processes = [context.Process(target=_client, args=(port, path, headers, start_at, seconds, results))
                 for _ in range(clients)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=seconds + 30) for _ in processes]
    for process in processes:
        process.join(timeout=10)
    failed = sum(f for _ok, f in outcomes)
    if failed:
        raise SystemExit(f"{failed} requests to {path} failed")
    return sum(ok for ok, _f in outcomes) / seconds


def signed_in_shopper():
    """A shopper with 1,234 points and a session saved the way a log-in saves it (database and Redis)."""
    from django.conf import settings
    from django.test import Client

    from shop.models import User
    from wallet.services import wallet_credit, wallet_open

    user = User.objects.create_user(email="bench.shopper@example.com", password="not-used-here")
    wallet_open(user=user)
    wallet_credit(user=user, points=1234, kind="purchase", idempotency_key="bench:seed", description="Bench")
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    options = parser.parse_args()

    with django_on_fresh_database(database=DATABASE, redis_db=REDIS_DB, settings=SETTINGS):
        from django.conf import settings
        from django.db import connections

        session = signed_in_shopper()
        connections.close_all()
        fragment_headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}", "HX-Request": "true",
                            "HX-Current-URL": "http://127.0.0.1/"}
        port = free_port()
        server = start_gunicorn(port, options.workers)
        try:
            status, headers, body = get(port, "/wallet/balance/", fragment_headers)
            if status != 200 or b'data-balance="1234"' not in body:
                raise SystemExit(f"the fragment answered {status}: {body[:200]!r}")
            # Every worker has loaded the session into the cache and opened its database connection by now.
            for _ in range(4 * options.workers):
                get(port, "/wallet/balance/", fragment_headers)
                get(port, "/bench/bare/", {})
            fragment_queries = max(int(get(port, "/wallet/balance/", fragment_headers)[1]["X-Bench-Queries"])
                                   for _ in range(10))
            not_modified = get(port, "/wallet/balance/", {**fragment_headers, "If-None-Match": headers["ETag"]})
            bare_queries = int(get(port, "/bench/bare/", {})[1]["X-Bench-Queries"])

            runs = {"bare": [], "fragment": []}
            for _round in range(options.rounds):
                runs["bare"].append(requests_per_second(
                    port, "/bench/bare/", {}, clients=options.clients, seconds=options.seconds))
                runs["fragment"].append(requests_per_second(
                    port, "/wallet/balance/", fragment_headers, clients=options.clients, seconds=options.seconds))
        finally:
            stop(server)

    print(f"balance fragment benchmark: gunicorn with {options.workers} sync workers, {options.clients} client "
          f"processes, {options.seconds:g}s x {options.rounds} rounds, {os.cpu_count()} CPUs")
    print(f"  runs: fragment {', '.join(f'{v:.0f}' for v in runs['fragment'])}; "
          f"bare {', '.join(f'{v:.0f}' for v in runs['bare'])} requests/s")
    ok = print_row("/wallet/balance/ (200, full render)", runs["fragment"], runs["bare"], "req/s", TARGET)
    print(f"  SQL queries per request: fragment {fragment_queries} (target <= {MAX_QUERIES}; 304 answer: "
          f"{not_modified[1]['X-Bench-Queries']}, status {not_modified[0]}), bare view {bare_queries}")
    if not ok or fragment_queries > MAX_QUERIES or not_modified[0] != 304:
        sys.exit(1)


if __name__ == "__main__":
    main()
