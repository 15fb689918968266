"""The checkout cleanup on a million sessions: the batched service against the same work as single SQL statements,
and what a shopper starting a checkout feels while the cleanup runs.

    .venv/bin/python bench/cleanup.py [--sessions 1000000] [--probe-seconds 5]

In a PostgreSQL database ``bench_cleanup`` on 127.0.0.1 that the script creates and drops, it generates (with
generate_series, in SQL) a million checkout sessions: a quarter active but overdue (to be marked expired), a
third abandoned more than 7 days ago (to be purged, some of them linked from sessions that stay), a quarter
completed, 2% idle as long but with a bank debit still under way at Stripe (to be kept: a payment may still
arrive for them), the rest recently ended; each with the points purchase (``wallet_pointspurchase``) its session
sold.
Two runs start from identical copies of that data:

1. baseline: the same work as one UPDATE (which writes each session's history row, as the service does) and one
   DELETE (which takes the sessions' histories and points purchases with them) statement (no batches, no SKIP
   LOCKED);
2. the cleanup tasks' services (``checkout_sessions_expire_due`` + ``checkout_sessions_purge_stale``), batched.

During both, two probes start and pay points checkouts (``points_purchase_start`` + ``checkout_session_pay``
through the fake Stripe) one after another: one for shoppers whose overdue session the cleanup is working on -- the
worst case, they may wait for the batch that holds their row -- and one for shoppers with no session at all. Their
latencies on an idle database afterwards are the latency baseline.

Targets: cleanup time <= 2x the single statements; p99 checkout creation while the cleanup runs < 50 ms.
"""

import argparse
import multiprocessing
import os
import signal
import statistics
import sys
import time
from pathlib import Path

from _common import RUN_ID, claim_redis_db, run_database

ROOT = Path(__file__).resolve().parent.parent
DATABASE = run_database("bench_cleanup")
REDIS_DB = claim_redis_db()
PG = {"host": "127.0.0.1", "port": 5432, "user": "root"}
TIME_LIMIT_SECONDS = 480  # each reset also inserts a million points purchases and history rows; the purge deletes them
OTHER_SHOPPERS = 50_000  # shoppers without any session, for the probe of an ordinary checkout


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:
        conn.execute(sql)


def setup_django(*, migrate: bool = True) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "true", "STRIPE_MODE": "demo", "LOG_LEVEL": "WARNING",
        "DATABASE_URL": f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{DATABASE}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "VAR_DIR": f"/tmp/bench-cleanup-var-{RUN_ID}",
    })
    import django
    from django.conf import settings

    django.setup()
    settings.DEBUG = False  # demo Stripe needs DEBUG at start-up; no query log during the measurements
    settings.STRIPE_FAKE_WEBHOOK_DELIVERY = "tests.stripe_fake.delivery.hold"  # no web server to deliver to here
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


# --- data -----------------------------------------------------------------------------------------------------

COLUMNS = ("id, user_id, kind, title, description, amount_cents, currency, status, created_at, updated_at, "
           "expires_at, completed_at, replaced_by_id, stripe_session_id, stripe_checkout_url, "
           "stripe_payment_intent_id, stripe_status, stripe_payment_status, awaiting_stripe, reconciled_at, "
           "failure_message, stripe_refunded_cents")
# What each points package session sold (wallet.services.points_purchase_start writes it with the session): the
# purge deletes it with its session; and the "started" history row every session has (the purge deletes it too).
PURCHASE_COLUMNS = "checkout_session_id, package_id, points"


def generate(cursor, sessions: int) -> dict:
    """Users and a seed table of ``sessions`` rows; returns how many rows each cleanup step should touch."""
    due, purge, completed, awaiting = sessions // 4, sessions * 35 // 100, sessions // 4, sessions // 50
    cursor.execute("""
        INSERT INTO shop_user (password, is_superuser, first_name, last_name, is_staff, is_active, date_joined, email)
        SELECT '!', false, '', '', false, true, now(), 'bench' || g || '@example.com'
          FROM generate_series(1, %s) g ORDER BY g""", [due + OTHER_SHOPPERS])
    cursor.execute("INSERT INTO shop_pointspackage (name, points, price_cents, currency, is_active, sort_order, "
                   "created_at, updated_at) VALUES ('Bench A', 500, 499, 'usd', true, 0, now(), now()), "
                   "('Bench B', 1200, 999, 'usd', true, 1, now(), now())")
    cursor.execute(f"""
        CREATE UNLOGGED TABLE bench_seed AS
        WITH rows AS (
            SELECT g,
                   CASE WHEN g <= %(due)s THEN 'due'
                        WHEN g <= %(due)s + %(purge)s THEN 'purge'
                        WHEN g <= %(due)s + %(purge)s + %(completed)s THEN 'completed'
                        WHEN g <= %(due)s + %(purge)s + %(completed)s + %(awaiting)s THEN 'awaiting'
                        ELSE 'recent' END AS class
              FROM generate_series(1, %(sessions)s) g),
        users AS (SELECT min(id) AS first FROM shop_user),
        package AS (SELECT min(id) AS id FROM shop_pointspackage)
        SELECT md5('bench' || g)::uuid AS id,
               users.first + (g - 1) %% %(due)s AS user_id,
               'points_package' AS kind, package.id AS package_id, 'Bench A' AS title,
               '500 points' AS description, 499::bigint AS amount_cents, 'usd' AS currency, 500::bigint AS points,
               CASE class WHEN 'due' THEN 'active' WHEN 'completed' THEN 'completed'
                          ELSE (CASE WHEN g %% 2 = 0 THEN 'expired' ELSE 'invalidated' END) END AS status,
               now() - (CASE class WHEN 'due' THEN 2 WHEN 'purge' THEN 10 WHEN 'completed' THEN 20
                                   WHEN 'awaiting' THEN 10 ELSE 3 END)
                 * interval '1 day' AS created_at,
               now() - (CASE class WHEN 'due' THEN 2 WHEN 'purge' THEN 9 WHEN 'completed' THEN 19
                                   WHEN 'awaiting' THEN 9 ELSE 1 END)
                 * interval '1 day' AS updated_at,
               now() - (CASE class WHEN 'due' THEN 1 WHEN 'purge' THEN 9 WHEN 'completed' THEN 19
                                   WHEN 'awaiting' THEN 9 ELSE 2 END)
                 * interval '1 day' AS expires_at,
               CASE class WHEN 'completed' THEN now() - interval '19 days' END AS completed_at,
               CASE WHEN class = 'purge' AND g %% 2 = 1 AND g < %(due)s + %(purge)s
                         THEN md5('bench' || (g + 1))::uuid
                    WHEN class = 'completed' AND g %% 10 = 0 THEN md5('bench' || (g - %(purge)s))::uuid
               END AS replaced_by_id,
               CASE WHEN class IN ('completed', 'awaiting') THEN 'cs_bench_' || g END AS stripe_session_id,
               '' AS stripe_checkout_url, '' AS stripe_payment_intent_id,
               CASE WHEN class IN ('completed', 'awaiting') THEN 'complete' ELSE '' END AS stripe_status,
               CASE class WHEN 'completed' THEN 'paid' WHEN 'awaiting' THEN 'unpaid' ELSE '' END
                 AS stripe_payment_status,
               class = 'awaiting' AS awaiting_stripe, NULL::timestamptz AS reconciled_at,
               '' AS failure_message, 0::bigint AS stripe_refunded_cents
          FROM rows, users, package""",
                   {"due": due, "purge": purge, "completed": completed, "awaiting": awaiting, "sessions": sessions})
    return {"expired": due, "purged": purge, "kept": awaiting}


def reset(cursor) -> str:
    steps = {}
    for name, sql in [
        # Card orders, refunds, histories and points purchases point at sessions: they go too (this is the bench's
        # own database).
        ("truncate", "TRUNCATE checkout_checkoutsession, checkout_checkoutsessionstatuschange, wallet_pointspurchase, "
                     "checkout_refundstatuschange, checkout_refund, stripe_fake_fakestripeobject, orders_orderitem, "
                     "orders_orderstatuschange, orders_orderpayment, orders_order, checkout_disputestatuschange, "
                     "checkout_dispute, wallet_refundshortfall, orders_libraryentry"),
        ("insert", f"INSERT INTO checkout_checkoutsession ({COLUMNS}) SELECT {COLUMNS} FROM bench_seed"),
        ("purchases", f"INSERT INTO wallet_pointspurchase ({PURCHASE_COLUMNS}) "
                      "SELECT id, package_id, points FROM bench_seed"),
        ("histories", "INSERT INTO checkout_checkoutsessionstatuschange (session_id, from_status, to_status, note, "
                      "created_at) SELECT id, '', 'active', 'started', created_at FROM bench_seed"),
        ("analyze", "ANALYZE checkout_checkoutsession, wallet_pointspurchase, checkout_checkoutsessionstatuschange"),
        ("checkpoint", "CHECKPOINT"),
    ]:
        started = time.perf_counter()
        cursor.execute(sql)
        steps[name] = time.perf_counter() - started
    return " ".join(f"{name} {seconds:.1f}s" for name, seconds in steps.items())


# --- the two ways of cleaning up ------------------------------------------------------------------------------

def _phase(work) -> tuple[float, int]:
    started = time.perf_counter()
    count = work()
    return time.perf_counter() - started, count


def single_statements() -> dict:
    from django.db import connection, transaction

    def expire():
        # Each session's history row with it, as the service writes them (rowcount: the rows the INSERT wrote).
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("""
                WITH moved AS (UPDATE checkout_checkoutsession SET status = 'expired', updated_at = now()
                                WHERE status = 'active' AND expires_at <= now() RETURNING id)
                INSERT INTO checkout_checkoutsessionstatuschange (session_id, from_status, to_status, note, created_at)
                SELECT id, 'active', 'expired', 'overdue (cleanup)', now() FROM moved""")
            return cursor.rowcount

    def purge():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("""
                WITH doomed AS MATERIALIZED (SELECT id FROM checkout_checkoutsession
                                 WHERE status <> 'completed' AND NOT awaiting_stripe AND stripe_status <> 'complete'
                                   AND updated_at < now() - interval '7 days'),
                     unlinked AS (UPDATE checkout_checkoutsession AS kept SET replaced_by_id = NULL FROM doomed
                                   WHERE kept.replaced_by_id = doomed.id
                                     AND NOT EXISTS (SELECT FROM doomed AS also WHERE also.id = kept.id)),
                     history AS (DELETE FROM checkout_checkoutsessionstatuschange AS change USING doomed
                                  WHERE change.session_id = doomed.id),
                     purchases AS (DELETE FROM wallet_pointspurchase AS purchase USING doomed
                                    WHERE purchase.checkout_session_id = doomed.id)
                DELETE FROM checkout_checkoutsession USING doomed
                 WHERE checkout_checkoutsession.id = doomed.id""")
            return cursor.rowcount

    return {"expire": _phase(expire), "purge": _phase(purge)}


def batched_services() -> dict:
    from checkout.services import checkout_sessions_expire_due, checkout_sessions_purge_stale

    return {"expire": _phase(checkout_sessions_expire_due), "purge": _phase(checkout_sessions_purge_stale)}


def total(phases: dict) -> float:
    return sum(seconds for seconds, _ in phases.values())


def counts(phases: dict) -> tuple[int, int]:
    return phases["expire"][1], phases["purge"][1]


def describe(phases: dict) -> str:
    return ", ".join(f"{name} {seconds:.2f} s ({count:,} rows)" for name, (seconds, count) in phases.items())


# --- the shopper's side ---------------------------------------------------------------------------------------

def _probe(first_user: int, ready, stop, results) -> None:
    """A probe process (its own interpreter: no GIL shared with the cleanup or the other probe): starts and pays
    checkouts (fake Stripe) one after another, each for the next shopper from ``first_user`` on, until ``stop``;
    sends back each one's latency in milliseconds."""
    setup_django(migrate=False)
    from django.db import connection

    from shop.models import User
    from tests.payments import pay_points_checkout
    from wallet.models import PointsPackage
    from wallet.services import points_purchase_start

    package = PointsPackage.objects.get(name="Bench B")
    latencies, errors, user_id = [], [], first_user
    ready.set()
    while not stop.is_set():
        user = User(pk=user_id, email=f"bench{user_id}@example.com")
        user_id += 1
        started = time.perf_counter()
        try:
            session = points_purchase_start(user=user, package=package).session
            pay_points_checkout(session_id=session.pk, user=user, base_url="http://bench.test")
        except Exception as error:  # counted and shown: a failure is a finding, not a crash
            errors.append(repr(error))
        latencies.append((time.perf_counter() - started) * 1000)
    connection.close()
    results.put((first_user, latencies, errors))


class ProbeResult:
    def __init__(self, latencies, errors):
        self.latencies, self.errors = latencies, errors


def run_probes(starts: dict[str, int], work=None, seconds: float = 0.0) -> tuple[dict | None, dict]:
    """Run one probe process per entry of ``starts`` (label -> first user id) alongside ``work`` (or for
    ``seconds``); returns what ``work`` returned and each label's ``ProbeResult``."""
    context = multiprocessing.get_context("spawn")
    stop, results = context.Event(), context.Queue()
    processes = []
    for first in starts.values():
        ready = context.Event()
        process = context.Process(target=_probe, args=(first, ready, stop, results), daemon=True)
        process.start()
        processes.append((process, ready))
    for _, ready in processes:
        ready.wait(60)
    time.sleep(0.5)  # the probes are warm before the work starts
    phases = work() if work else time.sleep(seconds)
    stop.set()
    collected = {}
    for _ in processes:
        first, latencies, errors = results.get(timeout=60)
        collected[first] = ProbeResult(latencies, errors)
    for process, _ in processes:
        process.join(30)
    return phases, {label: collected[first] for label, first in starts.items()}


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 100 else max(values, default=0.0)


class OutOfTime(Exception):
    pass


def _out_of_time(signum, frame):
    raise OutOfTime(f"bench/cleanup.py stopped after {TIME_LIMIT_SECONDS} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--probe-seconds", type=float, default=5.0, help="idle-database probe duration")
    options = parser.parse_args()
    signal.signal(signal.SIGALRM, _out_of_time)
    signal.alarm(TIME_LIMIT_SECONDS)  # bounded, whatever happens (and the database is dropped all the same)
    admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{DATABASE}"')
    try:
        setup_django()
        from django.db import connection

        from checkout.services.cleanup import BATCH_SIZE

        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = '150s'")
            started = time.perf_counter()
            expected = generate(cursor, options.sessions)
            cursor.execute("SELECT min(id) FROM shop_user")
            first_user = cursor.fetchone()[0]
            print(f"Generated {options.sessions:,} sessions in {time.perf_counter() - started:.1f} s: "
                  f"{expected['expired']:,} overdue, {expected['purged']:,} abandoned > 7 days, "
                  f"{expected['kept']:,} idle as long but awaiting a bank debit")
            # Two probes start checkouts alongside each run: shoppers whose overdue session is in the cleanup's way
            # (the worst case: they may wait for the batch holding their row), and shoppers with no session at all.
            starts = {"in the cleanup's way": first_user, "other shoppers": first_user + expected["expired"]}
            print(f"  reset: {reset(cursor)}")
            raw, during_single = run_probes(starts, single_statements)
            print(f"  single statements: {describe(raw)}")
            print(f"  reset: {reset(cursor)}")
            tasks, during_batches = run_probes(starts, batched_services)
            print(f"  cleanup services:  {describe(tasks)}")
            cursor.execute("SELECT count(*) FILTER (WHERE status = 'active' AND expires_at <= now()), "
                           "count(*) FILTER (WHERE status <> 'completed' AND NOT awaiting_stripe "
                           "AND stripe_status <> 'complete' AND updated_at < now() - interval '7 days'), "
                           "count(*) FILTER (WHERE awaiting_stripe AND updated_at < now() - interval '7 days') "
                           "FROM checkout_checkoutsession")
            *left_over, kept = cursor.fetchone()
        _, idle = run_probes({label: first + OTHER_SHOPPERS // 2 for label, first in starts.items()},
                             seconds=options.probe_seconds)

        # The probe renewed some overdue sessions itself (start marks an overdue active session expired), so
        # fewer are left for the cleanup; everything else must match exactly.
        for phases in (raw, tasks):
            assert counts(phases)[1] == expected["purged"] and counts(phases)[0] <= expected["expired"], phases
        assert left_over == [0, 0], f"the cleanup left {left_over} (overdue active, abandoned) sessions"
        assert kept == expected["kept"], f"the cleanup deleted {expected['kept'] - kept} sessions awaiting a payment"
        raw_time, task_time = total(raw), total(tasks)
        ratio = task_time / raw_time
        print()
        print(f"Cleanup of {options.sessions:,} sessions ({expected['expired']:,} overdue, "
              f"{expected['purged']:,} abandoned), same data and same concurrent checkouts for both:")
        print(f"  cleanup tasks (batches of {BATCH_SIZE})  {task_time:7.2f} s   baseline: one statement each "
              f"{raw_time:7.2f} s   ratio {ratio:.2f}x (target <= 2x) {'ok' if ratio <= 2 else 'ABOVE TARGET'}")
        print("Checkout creation (points_purchase_start + checkout_session_pay through the fake Stripe):")
        for label in starts:
            print(f"  {label}:")
            for when, probes in (("while the cleanup tasks run", during_batches),
                                 ("while the single statements run", during_single), ("idle database", idle)):
                probe = probes[label]
                print(f"    {when:<33} p99 {p99(probe.latencies):7.1f} ms   median "
                      f"{statistics.median(probe.latencies or [0]):5.1f} ms   max {max(probe.latencies, default=0):7.1f}"
                      f" ms   n={len(probe.latencies):5d}   errors={len(probe.errors)}")
        verdicts = []
        for label in starts:
            latency, idle_latency = p99(during_batches[label].latencies), p99(idle[label].latencies)
            verdicts.append(latency < 50)
            print(f"  {label}: p99 while the cleanup runs {latency:.1f} ms (target < 50 ms) "
                  f"{'ok' if latency < 50 else 'ABOVE TARGET'}; baseline (idle) p99 {idle_latency:.1f} ms, "
                  f"ratio {latency / max(idle_latency, 0.001):.2f}x")
        errors = [error for probes in (during_batches, during_single, idle) for probe in probes.values()
                  for error in probe.errors]
        if errors:
            print("  probe errors:", errors[:3])
        return 0 if ratio <= 2 and all(verdicts) and not errors else 1
    finally:
        signal.alarm(0)
        from django.db import connections

        connections.close_all()
        if not os.environ.get("BENCH_KEEP_DATABASE"):
            admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
