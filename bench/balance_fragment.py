"""Requests per second to the balance fragment (/wallet/balance/) through gunicorn, measured with wrk against a
bare one-query Django view served by the same gunicorn in the same run, and the SQL queries each request costs.

    .venv/bin/python bench/balance_fragment.py [--seconds 5] [--rounds 3] [--workers 2] [--threads 2]
                                               [--connections 8]

The script creates a PostgreSQL database ``bench_fragment_<run>`` on 127.0.0.1 (dropped at the end), a shopper
with a wallet and a logged-in session, and starts gunicorn (sync workers, as in the Procfile) on a free loopback
port with bench/wallet_bench_settings.py: the test settings with DEBUG off and persistent connections, the shop's
URLs plus ``/bench/bare/``. wrk (the client of bench/pages.py, bench/_wrk.py: keep-alive connections, C) then
requests one URL for ``--seconds``, alternating between the two URLs for ``--rounds`` rounds; figures are
medians, the ratio the median of the rounds' ratios. The fragment is fetched as htmx does after
``balance-changed``: with the session cookie and HX-Request, no If-None-Match (a full 200, the dearer case).
Target: fragment / bare >= 0.6, and at most 2 SQL queries per fragment request.
"""

import argparse
import os
import sys

from _common import claim_redis_db, django_on_fresh_database, print_row, run_database
from _wrk import SETTINGS, ensure_wrk, free_port, get, run_wrk, start_gunicorn, stop

DATABASE = run_database("bench_fragment")
REDIS_DB = claim_redis_db()
TARGET = 0.6
MAX_QUERIES = 2


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
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    options = parser.parse_args()
    wrk = ensure_wrk()

    with django_on_fresh_database(database=DATABASE, redis_db=REDIS_DB, settings=SETTINGS):
        from django.conf import settings
        from django.db import connections

        session = signed_in_shopper()
        connections.close_all()
        fragment_headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}", "HX-Request": "true",
                            "HX-Current-URL": "http://127.0.0.1/"}
        port = free_port()
        server = start_gunicorn(port, options.workers, database=DATABASE, redis_db=REDIS_DB)
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
                for name, path, request_headers in (("bare", "/bench/bare/", {}),
                                                    ("fragment", "/wallet/balance/", fragment_headers)):
                    runs[name].append(run_wrk(wrk, f"http://127.0.0.1:{port}{path}", request_headers,
                                              seconds=options.seconds, threads=options.threads,
                                              connections=options.connections))
        finally:
            stop(server)

    errors = sum(run.errors for results in runs.values() for run in results)
    rates = {name: [run.requests_per_second for run in results] for name, results in runs.items()}
    print(f"balance fragment benchmark: gunicorn with {options.workers} sync workers, wrk {options.threads} threads "
          f"{options.connections} connections, {options.seconds:g}s x {options.rounds} rounds, {os.cpu_count()} CPUs")
    print(f"  runs: fragment {', '.join(f'{v:.0f}' for v in rates['fragment'])}; "
          f"bare {', '.join(f'{v:.0f}' for v in rates['bare'])} requests/s; p50/p99 fragment "
          f"{', '.join(f'{r.p50_ms:.1f}/{r.p99_ms:.1f}' for r in runs['fragment'])} ms, bare "
          f"{', '.join(f'{r.p50_ms:.1f}/{r.p99_ms:.1f}' for r in runs['bare'])} ms")
    ok = print_row("/wallet/balance/ (200, full render)", rates["fragment"], rates["bare"], "req/s", TARGET)
    print(f"  SQL queries per request: fragment {fragment_queries} (target <= {MAX_QUERIES}; 304 answer: "
          f"{not_modified[1]['X-Bench-Queries']}, status {not_modified[0]}), bare view {bare_queries}; "
          f"non-2xx/3xx answers or socket errors: {errors}")
    if not ok or errors or fragment_queries > MAX_QUERIES or not_modified[0] != 304:
        sys.exit(1)


if __name__ == "__main__":
    main()
