"""The staff's ledger pages and dashboard through gunicorn, measured with wrk at demo size and after a million more
ledger entries: each page must stay within 1.5x of its demo-size latency.

    .venv/bin/python bench/admin_pages.py [--seconds 3] [--rounds 3] [--workers 2] [--connections 2]
                                          [--entries 1000000] [--wallets 10000]

The script creates a PostgreSQL database on 127.0.0.1 (named with the run's id, dropped at the end), seeds the
demo data (``seed_demo``) plus 300 ledger entries of three shoppers spread over two years (bench/_ledger.py) and
signs the demo staff member (a superuser) in. That is demo size: it is copied to a second database, and the first
gets ``--entries`` more entries over ``--wallets`` new shoppers' wallets, spread over the same two years, inserted
with set-based SQL (balances, lifetimes and every balance_after consistent; VACUUM ANALYZE after). Each size is
served by a gunicorn of its own (``--workers`` sync workers, DEBUG off, PostgreSQL, a Redis database each:
bench/_wrk.py), and wrk requests each URL below with the staff session cookie, at one size then the other, for
``--seconds`` each, in ``--rounds`` rounds:

    bare one-query view      /bench/bare/ (for reference: the floor, which the table's size does not touch)
    ledger list              /admin/wallet/ledgerentry/
    search: email prefix     /admin/wallet/ledgerentry/?q=ledger-owner-000002 (one shopper's 100 entries)
    search: idempotency key  /admin/wallet/ledgerentry/?q=<one of that shopper's keys>
    staff dashboard          /admin/dashboard/

The searched shopper and key are the same at both sizes: what grows is the table around them. Measuring the two
sizes side by side, round by round, rather than one after the other: on a shared machine a neighbour's load during
one size's whole run would pass for the page's cost (print_row in bench/_common.py pairs its rounds the same way).

For each page it prints the SQL queries a request runs at each size, wrk's p50 and p99 latency (the medians over
the rounds) and the ratios scaled / demo (the medians of the rounds' ratios). Target: the p50 ratio <= 1.5 for
every page; the p99 ratio is shown for information (with a few connections on two shared CPUs, one slow request
in a hundred is a neighbour's doing as often as the page's). Exits non-zero if a page answers other than 200,
shows other than what it should, or misses the target.

Why wrk, as for the shoppers' pages: the admin's pages measured here are GETs, which need only the session cookie
(no CSRF token), and wrk's keep-alive C client leaves the two CPUs to the server. ``--connections`` defaults to
the number of workers, so that the latency wrk reports is a request's own time, not its wait behind the others.
"""

import argparse
import os
import shutil
import statistics
import sys
import time

from _common import RUN_ID, claim_redis_db, copy_database, django_on_fresh_database, drop_database, run_database
from _ledger import ledger_fill, ledger_owners
from _wrk import SETTINGS, check_and_count, ensure_wrk, free_port, get, run_wrk, start_gunicorn, stop

DATABASE = run_database("bench_admin_pages")  # seeded at demo size, then scaled up
DEMO_DATABASE = run_database("bench_admin_pages_demo")  # a copy taken at demo size
# One Redis database per size: nothing one gunicorn caches is served by the other.
REDIS_DBS = {"scaled": claim_redis_db(), "demo": claim_redis_db()}
MEDIA_ROOT = f"/tmp/bench-admin-pages-media-{RUN_ID}-{os.getpid()}"  # seed_demo's product files, removed after
TARGET = 1.5
DEMO_OWNERS, DEMO_PER_WALLET = 3, 100
SEARCHED_OWNER = "ledger-owner-000002"  # the second demo-size shopper (zero-padded: a prefix of one email)
BARE = "bare one-query view"


def seed_demo_size() -> dict:
    """The demo data and a few hundred entries; returns what the requests need: the staff member's session cookie
    and an idempotency key of the searched shopper."""
    import io

    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from shop.management.commands.seed_demo import DEMO_STAFF
    from shop.models import User
    from wallet.models import LedgerEntry

    call_command("seed_demo", stdout=io.StringIO())
    ledger_fill(ledger_owners(count=DEMO_OWNERS), per_wallet=DEMO_PER_WALLET)
    staff = User.objects.get(email=DEMO_STAFF[0])
    assert staff.is_staff and staff.is_superuser, "the demo staff member must see every admin page"
    client = Client()
    client.force_login(staff)
    key = (LedgerEntry.objects.filter(wallet__user__email__startswith=SEARCHED_OWNER)
           .order_by("id").values_list("idempotency_key", flat=True)[DEMO_PER_WALLET // 2])
    return {"cookie": f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}",
            "key": key}


def scale_up(*, entries: int, wallets: int) -> dict:
    started = time.monotonic()
    added = ledger_fill(ledger_owners(count=wallets, first=DEMO_OWNERS + 1), per_wallet=entries // wallets)
    return {"entries": added, "wallets": wallets, "seconds": time.monotonic() - started}


def pages(seeded: dict) -> dict[str, tuple[str, dict]]:
    from urllib.parse import quote

    cookie = {"Cookie": seeded["cookie"]}
    ledger = "/admin/wallet/ledgerentry/"
    return {
        BARE: ("/bench/bare/", {}),
        "ledger list": (ledger, cookie),
        "search: email prefix": (f"{ledger}?q={SEARCHED_OWNER}", cookie),
        "search: idempotency key": (f"{ledger}?q={quote(seeded['key'])}", cookie),
        "staff dashboard": ("/admin/dashboard/", cookie),
    }


def check_content(port: int, urls: dict, seeded: dict) -> None:
    """Each page shows what it is for: a search that found nothing would be fast for the wrong reason."""
    expected = {
        "ledger list": [b'id="result_list"'],
        "search: email prefix": [f"{SEARCHED_OWNER}@example.com".encode(),
                                 f"{DEMO_PER_WALLET} ledger entries".encode()],
        "search: idempotency key": [seeded["key"].encode(), b"1 ledger entry"],
        "staff dashboard": [b"Today at the shop"],
    }
    for label, needles in expected.items():
        path, headers = urls[label]
        body = get(port, path, headers)[2]
        missing = [needle for needle in needles if needle not in body]
        if missing:
            raise SystemExit(f"bench: {label} ({path}) does not show {missing}")


def measure_pairs(ports: dict[str, int], urls: dict, options, wrk: str) -> dict[str, dict[str, list]]:
    """Each page at demo size and scaled size back to back, round after round (which size goes first alternates):
    a neighbour's load on this shared machine hits a round's pair alike instead of one size's whole run."""
    results = {size: {label: [] for label in urls} for size in ports}
    for number in range(options.rounds):
        sizes = list(ports) if number % 2 == 0 else list(ports)[::-1]
        for label, (path, headers) in urls.items():
            for size in sizes:
                results[size][label].append(run_wrk(
                    wrk, f"http://127.0.0.1:{ports[size]}{path}", headers, seconds=options.seconds,
                    threads=options.threads, connections=options.connections))
    return results


def report(results: dict[str, dict[str, list]], queries: dict[str, dict[str, int]]) -> bool:
    """Per page: the median latencies at each size and the median of the rounds' ratios scaled / demo."""
    print(f"    {'page':<24} {'queries':>9} {'p50 ms demo':>11} {'scaled':>7} {'ratio':>6}   "
          f"{'p99 ms demo':>11} {'scaled':>7} {'ratio':>6}")
    ok = True
    for label, demo_runs in results["demo"].items():
        scaled_runs = results["scaled"][label]
        row = {}
        for figure in ("p50", "p99"):
            demo = [getattr(run, f"{figure}_ms") for run in demo_runs]
            scaled = [getattr(run, f"{figure}_ms") for run in scaled_runs]
            row[figure] = (statistics.median(demo), statistics.median(scaled),
                           statistics.median(after / before for before, after in zip(demo, scaled, strict=True)))
        if label == BARE:
            verdict = "(reference)"
        else:
            met = row["p50"][2] <= TARGET
            ok = ok and met
            verdict = f"target p50 <= {TARGET} {'ok' if met else 'ABOVE TARGET'}"
        errors = sum(run.errors for run in (*demo_runs, *scaled_runs))
        if errors:
            ok = False
            verdict += f"; {errors} non-2xx/3xx answers or socket errors"
        print(f"    {label:<24} {queries['demo'][label]:>4}/{queries['scaled'][label]:<4} "
              f"{row['p50'][0]:>11.1f} {row['p50'][1]:>7.1f} {row['p50'][2]:>6.2f}   "
              f"{row['p99'][0]:>11.1f} {row['p99'][1]:>7.1f} {row['p99'][2]:>6.2f}  {verdict}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per page, size and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (per size)")
    parser.add_argument("--connections", type=int, default=None, help="wrk connections (default: --workers)")
    parser.add_argument("--entries", type=int, default=1_000_000, help="ledger entries added for the scaled size")
    parser.add_argument("--wallets", type=int, default=10_000, help="the new shoppers they are spread over")
    options = parser.parse_args()
    options.connections = options.connections or options.workers
    options.threads = min(2, options.connections)
    wrk = ensure_wrk()
    began = time.monotonic()
    os.environ["MEDIA_ROOT"] = MEDIA_ROOT  # for this process's seed_demo and, inherited, the gunicorns'
    try:
        return run(options, wrk, began)
    finally:
        shutil.rmtree(MEDIA_ROOT, ignore_errors=True)
        if not os.environ.get("BENCH_KEEP_DATABASE"):  # as django_on_fresh_database keeps the scaled one
            drop_database(DEMO_DATABASE)


def run(options, wrk: str, began: float) -> int:
    """Seed the demo size in DATABASE, copy it to DEMO_DATABASE, scale DATABASE up; measure both side by side."""
    with django_on_fresh_database(database=DATABASE, redis_db=REDIS_DBS["scaled"], settings=SETTINGS):
        from django.db import connections

        seeded = seed_demo_size()
        urls = pages(seeded)
        connections.close_all()  # a database is copied only while nobody is connected to it
        copy_database(DATABASE, DEMO_DATABASE)
        made = scale_up(entries=options.entries, wallets=options.wallets)
        connections.close_all()
        print(f"admin pages: demo size (seed_demo, +{DEMO_OWNERS * DEMO_PER_WALLET} ledger entries) and scaled size "
              f"(+{made['entries']:,} entries over {made['wallets']:,} new wallets, inserted and VACUUM ANALYZEd in "
              f"{made['seconds']:.0f} s), each served by gunicorn ({options.workers} sync workers, DEBUG off); wrk "
              f"{options.threads} threads, {options.connections} connections, {options.seconds:g} s per page, size "
              f"and round, {options.rounds} rounds; {os.cpu_count()} CPUs. Latencies are the rounds' medians, "
              f"ratios the medians of the rounds' scaled / demo. (set up in {time.monotonic() - began:.0f} s)",
              flush=True)
        databases = {"demo": DEMO_DATABASE, "scaled": DATABASE}
        servers, ports, queries = {}, {}, {}
        try:
            for size, database in databases.items():
                ports[size] = free_port()
                servers[size] = start_gunicorn(ports[size], options.workers, database=database,
                                               redis_db=REDIS_DBS[size])
            for size, port in ports.items():
                queries[size] = check_and_count(port, urls, options.workers)
                check_content(port, urls, seeded)
            results = measure_pairs(ports, urls, options, wrk)
        finally:
            for server in servers.values():
                stop(server)
        ok = report(results, queries)
    print(f"admin pages: {'every page met its target' if ok else 'ABOVE TARGET (see above)'}; "
          f"finished in {time.monotonic() - began:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
