"""Verified, idempotent Stripe webhook deliveries per second, through gunicorn, against a bare one-query view.

    .venv/bin/python bench/webhooks.py [--rounds 3] [--seconds 4] [--workers 3] [--clients 4]

One gunicorn on a loopback port serves both endpoints with the shop's settings and middleware
(bench/webhook_site/): the real ``/webhooks/stripe/`` and, as the baseline, a bare POST view that reads one row
through the ORM. Client processes POST signed ``checkout.session.completed`` events (each signed just before
sending, as Stripe does) over fresh connections; the baseline gets the same bodies and headers. Each round (the
machine may be shared: rounds interleave the phases, and each ratio is taken against its own round's baseline;
the median is reported) runs, each phase up to ``--seconds``:

* baseline        -- the bare view;
* new events      -- each event once: verify, store, lock, credit the wallet, complete the session;
* replays         -- the same events again: verify, find the stored event, answer 200, change nothing;
* Stripe-like mix -- fresh events, each delivered three times, the repeats a little later (as Stripe retries).

Everything runs in a database ``bench_webhooks`` on 127.0.0.1 that the script creates and drops. At the end
it checks that every session was credited exactly once. Targets: new events at >= 0.3x the baseline, replays at
>= 0.7x (the mix is printed for comparison); the script exits non-zero below either, or on any non-2xx answer.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import RUN_ID, claim_redis_db, run_database

ROOT = Path(__file__).resolve().parent.parent
DATABASE = run_database("bench_webhooks")
REDIS_DB = claim_redis_db()
PG = {"host": "127.0.0.1", "port": 5432, "user": "root"}
TARGETS = {"new": 0.3, "replay": 0.7}  # ratios to the bare view, each against its own round's baseline
TIME_LIMIT_SECONDS = 200
ENV = {
    "DEBUG": "true", "STRIPE_MODE": "demo", "LOG_LEVEL": "WARNING",
    "VAR_DIR": f"/tmp/bench-webhooks-var-{RUN_ID}",
    "DATABASE_URL": f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{DATABASE}",
    "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
    "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
    "DB_CONN_MAX_AGE": "60",
}


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:
        conn.execute(sql)


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.update(ENV, DJANGO_SETTINGS_MODULE="config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.DEBUG = False
    call_command("migrate", verbosity=0)


def prepare(count: int) -> list[str]:
    """``count`` shoppers, each with a checkout session awaiting Stripe, and the paid event for each."""
    from datetime import timedelta

    from django.utils import timezone

    from checkout.models import CheckoutSession
    from shop.models import User
    from wallet.models import POINTS_PACKAGE, PointsPackage, PointsPurchase, Wallet

    package = PointsPackage.objects.create(name="Bench", points=500, price_cents=499)
    users = User.objects.bulk_create([User(email=f"hook{i}@example.com", password="!") for i in range(count)])
    Wallet.objects.bulk_create([Wallet(user=user) for user in users])
    now = timezone.now()
    sessions = CheckoutSession.objects.bulk_create([CheckoutSession(
        user=user, kind=POINTS_PACKAGE, title=package.name, description="500 points", amount_cents=499,
        currency="usd", created_at=now, updated_at=now, expires_at=now + timedelta(hours=24),
        stripe_session_id=f"cs_test_bench{i}", stripe_status="open", awaiting_stripe=True)
        for i, user in enumerate(users)])
    # What each session sells, as wallet.services.points_purchase_start records it with the session.
    PointsPurchase.objects.bulk_create([PointsPurchase(checkout_session=session, package=package, points=500)
                                        for session in sessions])
    payloads = []
    for i, session in enumerate(sessions):
        obj = {"id": session.stripe_session_id, "object": "checkout.session", "amount_subtotal": 499,
               "amount_total": 499, "cancel_url": "http://127.0.0.1/checkout/x/?cancelled=1",
               "client_reference_id": str(session.pk), "created": int(time.time()), "currency": "usd",
               "customer": None, "customer_email": f"hook{i}@example.com", "expires_at": int(time.time()) + 86000,
               "livemode": False, "metadata": {"checkout_session_id": str(session.pk), "kind": "points_package",
                                                "user_id": str(session.user_id)},
               "mode": "payment", "payment_intent": f"pi_test_bench{i}", "payment_method_types": ["card"],
               "payment_status": "paid", "status": "complete", "success_url": "http://127.0.0.1/checkout/x/result/",
               "ui_mode": "hosted_page", "url": None}
        payloads.append(json.dumps({
            "id": f"evt_test_bench{i}", "object": "event", "api_version": "2026-10-28.endive",
            "created": int(time.time()), "data": {"object": obj}, "livemode": False, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "type": "checkout.session.completed"}))
    return payloads


# --- load ------------------------------------------------------------------------------------------------------

def _client(job):
    """One client process: POST its bodies (signed now, like Stripe) one after another until done or time's up."""
    port, path, bodies, secret, start_at, seconds, cycle = job
    from stripe import WebhookSignature

    ok = failed = 0
    if not bodies:
        return ok, failed, start_at
    delay = start_at - time.time()
    if delay > 0:
        time.sleep(delay)
    deadline, index = start_at + seconds, 0
    while time.time() < deadline:
        if index == len(bodies):
            if not cycle:
                break
            index = 0
        body = bodies[index]
        index += 1
        signature = WebhookSignature.generate_signature_header(body, secret)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("POST", path, body=body.encode(),
                           headers={"Content-Type": "application/json", "Stripe-Signature": signature})
        response = connection.getresponse()
        response.read()
        connection.close()
        if 200 <= response.status < 300:
            ok += 1
        else:
            failed += 1
    return ok, failed, time.time()


def stripe_like(bodies: list[str], block: int = 40) -> list[str]:
    """Each event three times, as Stripe retries: the second and third delivery some time after the first (here
    one and two blocks of other deliveries later), never all at once."""
    blocks = [bodies[i:i + block] for i in range(0, len(bodies), block)]
    sequence = []
    for j in range(len(blocks) + 2):
        for k in (j, j - 1, j - 2):
            if 0 <= k < len(blocks):
                sequence += blocks[k]
    return sequence


def deliveries_per_second(pool, port, path, bodies, *, clients, seconds, cycle) -> tuple[float, int, int]:
    from django.conf import settings

    start_at = time.time() + 1.0
    jobs = [(port, path, bodies[i::clients], settings.STRIPE_WEBHOOK_SECRET, start_at, seconds, cycle)
            for i in range(clients)]
    results = pool.map(_client, jobs)
    ok, failed = sum(r[0] for r in results), sum(r[1] for r in results)
    elapsed = max(r[2] for r in results) - start_at
    return ok / elapsed, ok, failed


def start_gunicorn(port: int, workers: int, log_path: Path) -> subprocess.Popen:
    env = {**os.environ, **ENV, "DJANGO_SETTINGS_MODULE": "webhook_site.settings",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "bench"), str(ROOT)])}
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", str(workers), "--backlog", "2048"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{log_path.read_text()[-2000:]}") from None
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def check_credits(expected: int) -> None:
    from checkout.models import CheckoutSession, WebhookEvent
    from wallet.models import LedgerEntry

    completed = CheckoutSession.objects.filter(status="completed").count()
    credits = LedgerEntry.objects.filter(kind="purchase").count()
    distinct = LedgerEntry.objects.values("stripe_object_id").distinct().count()
    processed = WebhookEvent.objects.filter(status="processed").count()
    assert completed == credits == distinct == processed == expected, (completed, credits, distinct, processed,
                                                                       expected)


class OutOfTime(Exception):
    pass


def _out_of_time(signum, frame):
    raise OutOfTime(f"bench/webhooks.py stopped after {TIME_LIMIT_SECONDS} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0, help="per phase and round")
    parser.add_argument("--events", type=int, default=2400, help="fresh events per round")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers")
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    options = parser.parse_args()
    signal.signal(signal.SIGALRM, _out_of_time)
    signal.alarm(TIME_LIMIT_SECONDS)
    admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{DATABASE}"')
    server = None
    try:
        setup_django()
        payloads = prepare(options.events * options.rounds)
        from django.db import connections

        connections.close_all()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        log_path = Path(f"/tmp/bench-webhooks-gunicorn-{os.getpid()}.log")
        server = start_gunicorn(port, options.workers, log_path)
        hook, bare = "/webhooks/stripe/", "/bench/bare/"
        rounds, failures = [], 0
        with multiprocessing.get_context("spawn").Pool(options.clients) as pool:
            def run(path, bodies, cycle):
                return deliveries_per_second(pool, port, path, bodies, clients=options.clients,
                                             seconds=options.seconds, cycle=cycle)

            run(bare, payloads[:200], True)  # warm-up: imports, connections, caches
            for number in range(options.rounds):
                fresh = payloads[number * options.events:(number + 1) * options.events]
                new_part, mix_part = fresh[: options.events * 2 // 3], fresh[options.events * 2 // 3:]
                mixed = stripe_like(mix_part)
                baseline, *_ = run(bare, fresh, True)
                new, new_ok, new_failed = run(hook, new_part, False)
                replay, _, replay_failed = run(hook, new_part[:new_ok], True)
                mix, _, mix_failed = run(hook, mixed, False)
                failures += new_failed + replay_failed + mix_failed
                rounds.append({"baseline": baseline, "new": new, "replay": replay, "mix": mix})
                print(f"  round {number + 1}: bare {baseline:.0f}/s, new {new:.0f}/s, replays {replay:.0f}/s, "
                      f"mix {mix:.0f}/s")

        from checkout.models import WebhookEvent

        check_credits(WebhookEvent.objects.count())

        def median(key, relative=False):
            return statistics.median(r[key] / r["baseline"] if relative else r[key] for r in rounds)

        print(f"Stripe webhook deliveries per second, gunicorn --workers {options.workers} (sync) on 127.0.0.1, "
              f"{options.clients} client processes, {os.cpu_count()} CPUs; median of {options.rounds} rounds, "
              f"each ratio against its own round's baseline:")
        print(f"  baseline: bare one-query POST view   {median('baseline'):8.0f}/s")
        met = True
        for label, key in (("new events (verify, store, credit)", "new"),
                           ("replays (verify, find, no-op)", "replay"),
                           ("Stripe-like mix (each event x3)", "mix")):
            target = TARGETS.get(key)
            verdict = "(for comparison)" if target is None else (
                f"(target >= {target}) {'ok' if median(key, True) >= target else 'BELOW TARGET'}")
            met = met and (target is None or median(key, True) >= target)
            print(f"  {label:<36} {median(key):8.0f}/s   ratio {median(key, True):.2f}x {verdict}")
        print(f"  {WebhookEvent.objects.count()} events stored, each session credited exactly once; "
              f"non-2xx answers: {failures}")
        return 0 if met and failures == 0 else 1
    finally:
        signal.alarm(0)
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(20)
        from django.db import connections

        connections.close_all()
        if not os.environ.get("BENCH_KEEP_DATABASE"):
            admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
