"""A mixed shopper workload through gunicorn + PostgreSQL + Redis, beside a bare one-query view in the same run.

    .venv/bin/python bench/load.py [--rounds 2] [--seconds 10] [--workers 3] [--clients 4] [--shoppers 400]

The script creates a database ``bench_load`` on 127.0.0.1:5432 (dropped at the end), migrates it, seeds
shoppers with points (each signed in: a session in the database and in Redis) and products, then starts on a
free loopback port one gunicorn (sync workers, the shop's settings and middleware: CSP, rate limits, request ids
and access lines included) and one Celery worker (order confirmation emails). The bench-only URLconf
(bench/load_site/) adds ``/bench/bare/``: a GET view with one ORM query, the baseline.

Each round runs two phases of up to ``--seconds`` each (and at most MAX_REQUESTS per client), from ``--clients``
processes: the baseline (the bare view only) and the mix, where every client walks its shoppers through visits of

    catalog -> product page -> balance badge (htmx) -> add to cart (htmx POST) -> pay with points (htmx POST)
            -> balance badge

(a product is bought once: each round buys from its own share of the products, and a shopper who owns all of
that share only browses: catalog, product page, badge).

It prints requests per second and p50/p99 latency per endpoint, the mix's throughput as a ratio of the bare
view's, and any error or 429. Afterwards ``manage.py audit_wallets`` must pass and every successful payment must
have made exactly one order and one ledger spend. Loopback only; the whole run stays under TIME_LIMIT_SECONDS.
"""

import argparse
import http.client
import multiprocessing
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode

from _common import RUN_ID, claim_redis_db, run_database

ROOT = Path(__file__).resolve().parent.parent
DATABASE = run_database("bench_load")
PG = {"host": "127.0.0.1", "port": 5432, "user": "root"}
REDIS_DB = claim_redis_db()
TIME_LIMIT_SECONDS = 170
MAX_REQUESTS = 50_000
PRODUCTS = 24
# A product is bought once: each round's visits buy from a share of the products of their own (PRODUCTS / MAX_ROUNDS),
# and a shopper who owns all of that share only browses, so that every payment the mix sends can be paid.
MAX_ROUNDS = 4
POINTS_EACH = 10_000_000


def environment(prefix: str) -> dict:
    return {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'bench'}",
        "DJANGO_SETTINGS_MODULE": "load_site.settings",
        "DEBUG": "true", "STRIPE_MODE": "demo",  # demo payments need DEBUG at start-up; load_site turns it off
        "DATABASE_URL": f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{DATABASE}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "BENCH_CACHE_PREFIX": prefix,
        "VAR_DIR": f"/tmp/bench-load-var-{RUN_ID}",
        "MEDIA_ROOT": f"/tmp/bench-load-media-{RUN_ID}",
        "LOG_LEVEL": "INFO", "LOG_FORMAT": "kv",
        "DB_CONN_MAX_AGE": "60",
        "RATELIMIT_ENABLE": "true",
    }


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:
        conn.execute(sql)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Seeding (in this process, with the same settings as gunicorn) ---------------------------------------------
def seed(shopper_count: int) -> dict:
    import io
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.core.files.base import ContentFile
    from PIL import Image

    from shop.models import Product, User
    from wallet.models import PointsPackage
    from wallet.services import wallet_credit, wallet_open

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 40)).save(buffer, "JPEG")
    picture = buffer.getvalue()
    PointsPackage.objects.create(name="Bench", points=500, price_cents=499)
    products = []
    for number in range(PRODUCTS):
        product = Product(title=f"Bench picture {number}", slug=f"bench-{number}", description="A bench picture.",
                          price_cents=199 + number, price_points=100 + number)
        product.image.save(f"bench-{number}.jpg", ContentFile(picture), save=False)
        product.preview.save(f"bench-{number}.jpg", ContentFile(picture), save=False)
        product.save()
        products.append((product.pk, product.slug))
    users = User.objects.bulk_create([User(email=f"load{i}@example.com", password="!") for i in range(shopper_count)])
    store = import_module(settings.SESSION_ENGINE).SessionStore
    shoppers = []
    for user in users:
        wallet_open(user=user)
        wallet_credit(user=user, points=POINTS_EACH, kind="adjustment", idempotency_key=f"bench-load:{user.pk}",
                      description="Bench points")
        session = store()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        shoppers.append((session.session_key, secrets.token_hex(16)))  # (session cookie, CSRF secret)
    return {"products": products, "shoppers": shoppers}


# --- Clients ---------------------------------------------------------------------------------------------------
def client(port: int, phase: str, seconds: float, shoppers: list, products: list, seed_value: int, results):
    rng = random.Random(seed_value)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    samples, statuses = defaultdict(list), defaultdict(lambda: defaultdict(int))

    def call(label, method, path, shopper=None, body=None, htmx=False):
        headers = {"Host": "127.0.0.1"}
        if shopper is not None:
            session_key, csrf = shopper
            headers["Cookie"] = f"sessionid={session_key}; csrftoken={csrf}"
            if method == "POST":
                headers["X-CSRFToken"] = csrf
        if htmx:
            headers["HX-Request"] = "true"
        if body is not None:
            body = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            connection.close()
            status = 0
        samples[label].append(time.perf_counter() - started)
        statuses[label][status] += 1
        return status

    deadline, sent, shopper_index = time.monotonic() + seconds, 0, 0
    this_round = products[(seed_value // 100) % MAX_ROUNDS::MAX_ROUNDS]
    bought = defaultdict(set)  # this round's products each shopper owns (rounds buy disjoint shares)
    started = time.monotonic()
    while time.monotonic() < deadline and sent < MAX_REQUESTS:
        if phase == "baseline":
            call("bare one-query view", "GET", "/bench/bare/")
            sent += 1
            continue
        shopper = shoppers[shopper_index % len(shoppers)]
        shopper_index += 1
        left = [product for product in this_round if product[0] not in bought[shopper]]
        product_id, slug = rng.choice(left or products)
        call("catalog", "GET", "/", shopper)
        call("product page", "GET", f"/products/{slug}/", shopper)
        call("balance badge", "GET", "/wallet/balance/", shopper, htmx=True)
        sent += 3
        if not left:
            continue
        bought[shopper].add(product_id)
        call("add to cart", "POST", "/cart/add/", shopper, {"product_id": product_id}, htmx=True)
        call("pay with points", "POST", "/cart/pay/points/", shopper, {"checkout_token": str(uuid.uuid4())},
             htmx=True)
        call("balance badge", "GET", "/wallet/balance/", shopper, htmx=True)
        sent += 3
    results.put({"phase": phase, "elapsed": time.monotonic() - started, "samples": dict(samples),
                 "statuses": {label: dict(counts) for label, counts in statuses.items()}})


def run_phase(port: int, phase: str, seconds: float, clients: int, data: dict, round_number: int) -> dict:
    results = multiprocessing.Queue()
    processes = [multiprocessing.Process(target=client, args=(
        port, phase, seconds, data["shoppers"][index::clients], data["products"], round_number * 100 + index, results))
        for index in range(clients)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=seconds + 120) for _ in processes]
    for process in processes:
        process.join(30)
    merged = {"elapsed": max(outcome["elapsed"] for outcome in outcomes), "samples": defaultdict(list),
              "statuses": defaultdict(lambda: defaultdict(int))}
    for outcome in outcomes:
        for label, values in outcome["samples"].items():
            merged["samples"][label].extend(values)
        for label, counts in outcome["statuses"].items():
            for status, count in counts.items():
                merged["statuses"][label][status] += count
    return merged


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


# --- Processes -------------------------------------------------------------------------------------------------
def start(command: list[str], env: dict, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "w")  # noqa: SIM115 -- kept open for the process's lifetime
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def wait_for_http(port: int, server: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{log_path.read_text()[-3000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/bench/bare/")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer within 60 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--shoppers", type=int, default=400)
    options = parser.parse_args()
    if options.rounds > MAX_ROUNDS:
        parser.error(f"at most {MAX_ROUNDS} rounds (each buys products of its own: a product is bought once)")
    if options.rounds * options.seconds * 2 > TIME_LIMIT_SECONDS - 60:
        parser.error(f"rounds x seconds x 2 phases must leave a minute of the {TIME_LIMIT_SECONDS} s limit")
    began = time.monotonic()
    prefix = f"bench-load-{os.getpid()}"
    env = environment(prefix)
    os.environ.update({key: value for key, value in env.items() if key != "PYTHONPATH"})
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    logs = Path(env["VAR_DIR"])
    logs.mkdir(parents=True, exist_ok=True)

    admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{DATABASE}"')
    server = worker = None
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)  # the manifest storage, as deployed
        data = seed(options.shoppers)
        from django.db import connections

        connections.close_all()
        print(f"load: seeded {options.shoppers} signed-in shoppers and {PRODUCTS} products "
              f"({time.monotonic() - began:.0f} s)")

        port = free_port()
        server = start([str(ROOT / ".venv/bin/gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}",
                        "--workers", str(options.workers), "--graceful-timeout", "5"], env, logs / "gunicorn.log")
        worker = start([str(ROOT / ".venv/bin/celery"), "-A", "config", "worker", "--concurrency", "1",
                        "--loglevel", "WARNING"], env, logs / "worker.log")
        wait_for_http(port, server, logs / "gunicorn.log")

        phases = {"baseline": [], "mix": []}
        for round_number in range(options.rounds):
            for phase in ("baseline", "mix"):
                phases[phase].append(run_phase(port, phase, options.seconds, options.clients, data, round_number))
        stop(server)
        stop(worker)
        ok = report(phases, options)
        ok = check_ledger(phases, env) and ok
        request_ids = sum(1 for line in (logs / "gunicorn.log").read_text().splitlines() if "request_id=" in line)
        print(f"load: {request_ids} access lines with a request id in {logs / 'gunicorn.log'}")
    finally:
        for process in (server, worker):
            if process is not None:
                stop(process)
        from django.db import connections

        connections.close_all()
        clean_redis(prefix)
        admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    print(f"load: finished in {time.monotonic() - began:.0f} s")
    return 0 if ok else 1


def report(phases: dict, options) -> bool:
    print(f"\nload: {options.rounds} rounds x {options.seconds:.0f} s per phase, {options.clients} client processes, "
          f"gunicorn {options.workers} sync workers, PostgreSQL and Redis on 127.0.0.1")
    print(f"  {'endpoint':<22} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}  statuses")
    ok = True
    for phase in ("baseline", "mix"):
        elapsed = sum(result["elapsed"] for result in phases[phase])
        samples, statuses = defaultdict(list), defaultdict(lambda: defaultdict(int))
        for result in phases[phase]:
            for label, values in result["samples"].items():
                samples[label].extend(values)
            for label, counts in result["statuses"].items():
                for status, count in counts.items():
                    statuses[label][status] += count
        for label, values in samples.items():
            counts = dict(statuses[label])
            print(f"  {label:<22} {len(values):>9} {len(values) / elapsed:>8.0f} {percentile(values, .5) * 1000:>8.1f}"
                  f" {percentile(values, .99) * 1000:>8.1f}  {counts}")
            if set(counts) - {200}:
                ok = False
    throughput = {phase: [sum(len(values) for values in result["samples"].values()) / result["elapsed"]
                          for result in phases[phase]] for phase in phases}
    ratios = [mix / base for mix, base in zip(throughput["mix"], throughput["baseline"], strict=True)]
    print(f"  mix: {statistics.median(throughput['mix']):.0f} req/s against the bare view's "
          f"{statistics.median(throughput['baseline']):.0f} req/s: ratio {statistics.median(ratios):.2f} "
          f"(per round: {', '.join(f'{ratio:.2f}' for ratio in ratios)})")
    if not ok:
        print("  FAILED: some requests did not answer 200 (see statuses)")
    return ok


def check_ledger(phases: dict, env: dict) -> bool:
    from orders.models import Order
    from wallet.models import LedgerEntry

    paid = sum(result["statuses"].get("pay with points", {}).get(200, 0) for result in phases["mix"])
    orders = Order.objects.count()
    spends = LedgerEntry.objects.filter(kind="spend").count()
    audit = subprocess.run([str(ROOT / ".venv/bin/python"), "manage.py", "audit_wallets"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120)
    print(f"load: {paid} payments answered 200; {orders} orders, {spends} ledger spends")
    print(f"load: audit_wallets: {(audit.stdout + audit.stderr).strip().splitlines()[-1]}")
    return audit.returncode == 0 and paid == orders == spends


def clean_redis(prefix: str) -> None:
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000)) + [b"celery"] + list(
        client.scan_iter(match="_kombu*", count=1000)) + list(client.scan_iter(match="unacked*", count=1000))
    for start_at in range(0, len(keys), 500):
        client.delete(*keys[start_at:start_at + 500])


if __name__ == "__main__":
    sys.exit(main())
