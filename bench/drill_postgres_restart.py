"""Drill: PostgreSQL restarted while shoppers browse and pay with points.

    .venv/bin/python bench/drill_postgres_restart.py [--clients 6] [--outage 4]

Never touches the machine's shared PostgreSQL or Redis: it creates a throw-away cluster (initdb as the
``postgres`` user into a temporary folder, its own port, fsync off) and its own redis-server, migrates and seeds
them, and starts gunicorn (2 workers, persistent connections with health checks: DB_CONN_MAX_AGE=60 and
CONN_HEALTH_CHECKS) on a free loopback port. Client threads browse the catalog, read the balance badge, add to
the cart and pay with points; a payment that does not answer 200 is retried with the same form token, as a
shopper pressing the button again would. Meanwhile PostgreSQL is stopped (fast shutdown: open transactions are
rolled back), left down for ``--outage`` seconds and started again. Gunicorn is never restarted.

Passes when: every failed request was a clean 503 (no 500, no dropped connection), requests answer 200 again
within RECOVERY_LIMIT seconds of PostgreSQL accepting connections, every token that got 200 made exactly one
order and one ledger spend (none lost, none doubled), and ``manage.py audit_wallets`` passes.
"""

import argparse
import glob
import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
import load  # noqa: E402 -- bench/load.py: seeding and process helpers

RECOVERY_LIMIT = 10.0
DATABASE = "drill"


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise SystemExit(f"drill: no {name} under /usr/lib/postgresql/*/bin")
    return found[-1]


def as_postgres(*command: str) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True, capture_output=True, timeout=120)


class Cluster:
    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="drill-pg-"))
        self.data = self.folder / "data"
        self.port = load.free_port()
        shutil.chown(self.folder, "postgres", "postgres")
        as_postgres(pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self):
        as_postgres(pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "postgres.log"), "-w", "-o",
                    f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                    f"-c max_connections=60", "start")

    def stop(self):
        as_postgres(pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self):
        subprocess.run(["runuser", "-u", "postgres", "--", pg_bin("pg_ctl"), "-D", str(self.data), "-m",
                        "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)


def shopper_loop(port, shopper, products, deadline, events, payments, lock):
    session_key, csrf = shopper
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    token = None

    def call(label, method, path, body=None):
        headers = {"Host": "127.0.0.1", "Cookie": f"sessionid={session_key}; csrftoken={csrf}",
                   "HX-Request": "true"}
        if method == "POST":
            headers.update({"X-CSRFToken": csrf, "Content-Type": "application/x-www-form-urlencoded"})
        try:
            connection.request(method, path, body=urlencode(body) if body else None, headers=headers)
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            connection.close()
            status = 0
        with lock:
            events.append((time.monotonic(), label, status))
        return status

    number = 0
    while time.monotonic() < deadline:
        number += 1
        product_id, slug = products[number % len(products)]
        call("catalog", "GET", "/")
        call("balance", "GET", "/wallet/balance/")
        if token is None:
            if call("add to cart", "POST", "/cart/add/", {"product_id": product_id}) != 200:
                time.sleep(0.2)
                continue
            token = str(uuid.uuid4())
        if call("pay", "POST", "/cart/pay/points/", {"checkout_token": token}) == 200:
            with lock:
                payments.append(token)
            token = None
        else:
            time.sleep(0.2)  # the shopper waits a moment and presses Pay again: same form, same token


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--outage", type=float, default=4.0)
    options = parser.parse_args()
    began = time.monotonic()
    cluster = Cluster()
    redis_port = load.free_port()
    redis_server = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(redis_port), "--save", "",
                                     "--appendonly", "no"], stdout=subprocess.DEVNULL, start_new_session=True)
    server = None
    prefix = f"drill-{os.getpid()}"
    env = {**load.environment(prefix),
           "DATABASE_URL": f"postgres://postgres@127.0.0.1:{cluster.port}/{DATABASE}",
           "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/1",
           "VAR_DIR": str(cluster.folder / "var"), "MEDIA_ROOT": str(cluster.folder / "media"),
           "RATELIMIT_ENABLE": "false", "LOG_LEVEL": "WARNING"}
    try:
        cluster.start()
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=cluster.port, user="postgres", dbname="postgres",
                             autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{DATABASE}"')
        os.environ.update({key: value for key, value in env.items() if key != "PYTHONPATH"})
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        data = load.seed(options.clients)
        from django.db import connections

        connections.close_all()
        port = load.free_port()
        server = load.start([str(ROOT / ".venv/bin/gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}",
                             "--workers", "2", "--graceful-timeout", "5"], env, cluster.folder / "gunicorn.log")
        load.wait_for_http(port, server, cluster.folder / "gunicorn.log")
        print(f"drill: cluster on port {cluster.port}, redis on {redis_port}, gunicorn on {port} "
              f"({time.monotonic() - began:.0f} s)")

        events, payments, lock = [], [], threading.Lock()
        start = time.monotonic()
        deadline = start + 10 + options.outage + 10
        threads = [threading.Thread(target=shopper_loop, args=(port, shopper, data["products"], deadline, events,
                                                               payments, lock))
                   for shopper in data["shoppers"]]
        for thread in threads:
            thread.start()
        time.sleep(8)
        stopped_at = time.monotonic()
        cluster.stop()
        print(f"drill: PostgreSQL stopped at t={stopped_at - start:.1f} s")
        time.sleep(options.outage)
        cluster.start()
        restarted_at = time.monotonic()
        print(f"drill: PostgreSQL accepting connections again at t={restarted_at - start:.1f} s")
        for thread in threads:
            thread.join(60)
        server_alive = server.poll() is None
        load.stop(server)
        return report(events, payments, start, stopped_at, restarted_at, server_alive, env)
    finally:
        if server is not None:
            load.stop(server)
        from django.db import connections

        connections.close_all()
        redis_server.terminate()
        redis_server.wait(10)
        cluster.remove()
        print(f"drill: finished in {time.monotonic() - began:.0f} s")


def report(events, payments, start, stopped_at, restarted_at, server_alive, env) -> int:
    by_second = defaultdict(Counter)
    for moment, _, status in events:
        by_second[int(moment - start)][status] += 1
    print("drill: statuses per second (t: {status: count})")
    for second in sorted(by_second):
        print(f"  t={second:>2}s {dict(sorted(by_second[second].items()))}")
    statuses = Counter(status for _, _, status in events)
    unclean = {status: count for status, count in statuses.items() if status not in (200, 503)}
    during = Counter(status for moment, _, status in events if stopped_at <= moment < restarted_at)
    first_ok = min((moment for moment, _, status in events if moment >= restarted_at and status == 200), default=None)
    recovered = first_ok is not None and first_ok - restarted_at <= RECOVERY_LIMIT
    late_failures = sum(1 for moment, _, status in events if first_ok and moment > first_ok + 2 and status != 200)

    from orders.models import Order
    from wallet.models import LedgerEntry

    orders = set(Order.objects.values_list("idempotency_key", flat=True))
    paid = {key for key in orders}
    tokens = {token for token in payments}
    spends = LedgerEntry.objects.filter(kind="spend").count()
    lost = [token for token in tokens if not any(key.endswith(token) for key in paid)]
    audit = subprocess.run([str(ROOT / ".venv/bin/python"), "manage.py", "audit_wallets"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120)
    print(f"drill: {len(events)} requests: {dict(sorted(statuses.items()))}; during the outage: "
          f"{dict(sorted(during.items()))}")
    print(f"drill: first 200 after the restart {first_ok - restarted_at:.2f} s after PostgreSQL was back; "
          f"{late_failures} failures after that" if first_ok else "drill: never recovered")
    print(f"drill: {len(tokens)} payments answered 200, {len(orders)} orders, {spends} ledger spends, "
          f"{len(lost)} lost")
    print(f"drill: audit_wallets: {(audit.stdout + audit.stderr).strip().splitlines()[-1]}")
    checks = {
        "gunicorn kept running": server_alive,
        "failures were clean 503s": not unclean,
        "the outage was seen as 503": during.get(503, 0) > 0,
        "recovered without a restart": recovered and late_failures == 0,
        "one order and one spend per paid token": len(tokens) == len(orders) == spends and not lost,
        "audit_wallets passes": audit.returncode == 0,
    }
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
