"""A signed-in shopper's pages through gunicorn, measured with wrk beside a bare one-query view, at demo size and
at a shop's scaled size.

    .venv/bin/python bench/pages.py [--seconds 5] [--rounds 3] [--workers 2] [--threads 2] [--connections 8]

The script creates a PostgreSQL database on 127.0.0.1 (named with the run's id, dropped at the end), seeds the
demo data (``seed_demo``) plus points for the demo shopper, 25 orders paid with them (more than a page of orders
and of ledger entries) and three items in their cart, signs the shopper in, and starts gunicorn (``--workers``
sync workers, DEBUG off, PostgreSQL, Redis: bench/_wrk.py).
wrk (Debian's; installed if absent) then requests each URL below for ``--seconds``, with the shopper's session
cookie, one URL after another, the bare view among them, in ``--rounds`` rounds (the order shifts each round):

    bare one-query view  /bench/bare/ (one indexed SELECT; no cookie, no template: the floor)
    balance fragment     /wallet/balance/ (as htmx fetches it)
    catalog              /
    product page         /products/<a demo product>/
    wallet               /wallet/
    cart                 /cart/
    orders               /orders/

Then the same at scaled size -- 10,000 products, 100,000 more ledger entries and 5,000 orders of the shopper,
inserted with set-based SQL -- on a freshly started gunicorn. For each page it prints requests per second, wrk's
p50 and p99 latency, the SQL queries a request runs (``X-Bench-Queries``) and ratio = page / bare (the median of
the rounds' ratios, each against its own round's bare view). Exits non-zero if any page answers other than 200,
if a ratio is below its target, or if a ratio drops more than 15% from demo size to scaled size.
"""

import argparse
import os
import shutil
import statistics
import sys
import time

from _common import RUN_ID, claim_redis_db, django_on_fresh_database, run_database
from _wrk import SETTINGS, check_and_count, ensure_wrk, free_port, measure, start_gunicorn, stop

HISTORY_PAGE_SIZE = ORDERS_PAGE_SIZE = 20  # wallet.selectors and orders.selectors; checked once Django is set up

DATABASE = run_database("bench_pages")
REDIS_DB = claim_redis_db()
MEDIA_ROOT = f"/tmp/bench-pages-media-{RUN_ID}-{os.getpid()}"
TARGETS = {"balance fragment": 0.6, "catalog": 0.4, "product page": 0.4, "wallet": 0.25, "cart": 0.25,
           "orders": 0.25}
MAX_DROP = 0.15  # from demo size to scaled size, of each page's ratio
SCALED = {"products": 10_000, "ledger entries": 100_000, "orders": 5_000}
# A page's worth and more (the lists show 20 rows a page): demo size then differs from scaled size only in how much
# history lies behind the first page -- what "flat as the history grows" is about -- not in how many rows one
# page renders.
DEMO_ORDERS = max(HISTORY_PAGE_SIZE, ORDERS_PAGE_SIZE) + 5
BARE = "bare one-query view"


# --- data ------------------------------------------------------------------------------------------------------

def seed_demo_size() -> dict:
    """The demo data, the demo shopper with points, a few orders paid with points and three items in the cart;
    returns what the requests need: the session cookie, a product's slug, the shopper."""
    import io
    import uuid

    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from orders.services.cart import cart_add
    from orders.services.placement import order_pay_with_points
    from shop.management.commands.seed_demo import DEMO_SHOPPER
    from shop.models import Product, User
    from wallet.services import wallet_credit

    from orders.selectors import ORDERS_PAGE_SIZE as orders_page
    from wallet.selectors import HISTORY_PAGE_SIZE as history_page

    assert (history_page, orders_page) == (HISTORY_PAGE_SIZE, ORDERS_PAGE_SIZE), "update bench/pages.py's sizes"
    call_command("seed_demo", stdout=io.StringIO())
    shopper = User.objects.get(email=DEMO_SHOPPER[0])
    wallet_credit(user=shopper, points=100_000, kind="adjustment", idempotency_key="bench:pages:points",
                  description="Bench points")
    products = list(Product.objects.order_by("pk"))
    # A digital product is bought once, so the orders buy copies of the demo products made for them, taken off
    # sale afterwards: the catalog stays the demo's, the orders and ledger lists have more than a page.
    for number in range(DEMO_ORDERS):
        model = products[number % len(products)]
        bought = Product.objects.create(
            title=f"{model.title} (edition {number + 1})", slug=f"{model.slug}-edition-{number + 1}",
            description=model.description, image=model.image.name, preview=model.preview.name,
            price_cents=model.price_cents, price_points=model.price_points, currency=model.currency)
        cart_add(user=shopper, product_id=bought.pk)
        order_pay_with_points(user=shopper, idempotency_key=str(uuid.uuid4()))
    Product.objects.filter(slug__contains="-edition-").update(is_active=False)
    for product in products[:3]:
        cart_add(user=shopper, product_id=product.pk)
    client = Client()
    client.force_login(shopper)
    return {"cookie": f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}",
            "product": products[0].slug, "shopper": shopper}


def _columns(cursor, table: str) -> list[str]:
    cursor.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                   "ORDER BY ordinal_position", [table])
    return [name for (name,) in cursor.fetchall()]


def clone_rows(cursor, table: str, *, where: str, params: list, count: int, overrides: dict[str, str]) -> int:
    """``count`` copies of each row of ``table`` matching ``where`` (alias ``p``), in one INSERT ... SELECT over
    ``generate_series`` (``g`` numbers the copy); ``overrides`` gives SQL for the columns that must differ. The
    serial ``id`` is left to its default unless overridden."""
    columns = [name for name in _columns(cursor, table) if name != "id" or "id" in overrides]
    values = ", ".join(overrides.get(name, f'p."{name}"') for name in columns)
    cursor.execute(f'INSERT INTO "{table}" ({", ".join(f"{chr(34)}{c}{chr(34)}" for c in columns)}) '
                   f"SELECT {values} FROM \"{table}\" p, generate_series(1, %s) AS g WHERE {where}",
                   [count, *params])
    return cursor.rowcount


def scale_up(shopper) -> dict:
    """10,000 products in all, 100,000 more ledger entries and 5,000 more orders (with their items, payments and
    history) for ``shopper``: copies of the demo rows, made by set-based SQL in seconds. The ledger stays
    consistent (each entry's balance_after, the wallet's balance and lifetime)."""
    from django.db import connection, transaction

    from orders.models import Order, OrderItem, OrderPayment, OrderStatusChange
    from shop.models import Product
    from wallet.models import LedgerEntry, Wallet

    started = time.monotonic()
    wallet = Wallet.objects.get(user=shopper)
    prototype_order = Order.objects.filter(user=shopper).order_by("created_at").first()
    prototype_entry = LedgerEntry.objects.filter(wallet=wallet).order_by("pk").first()
    step = 10
    with transaction.atomic(), connection.cursor() as cursor:
        products = clone_rows(
            cursor, Product._meta.db_table, where="p.id = (SELECT min(id) FROM shop_product)", params=[],
            count=SCALED["products"] - Product.objects.count(),
            overrides={"slug": "'bench-picture-' || g", "title": "'Bench picture ' || lpad(g::text, 5, '0')"})
        # Newer than the demo entries, each one's balance_after following on from the wallet's balance.
        entries = clone_rows(
            cursor, LedgerEntry._meta.db_table, where="p.id = %s", params=[prototype_entry.pk],
            count=SCALED["ledger entries"],
            overrides={"amount": str(step), "kind": "'adjustment'", "reverses_id": "NULL",
                       "balance_after": f"{wallet.balance} + {step} * g", "idempotency_key": "'bench:scale:' || g",
                       "description": "'Bench points ' || g", "stripe_object_id": "''", "metadata": "'{}'::jsonb",
                       "created_at": "now() + g * interval '1 millisecond'"})
        added = step * SCALED["ledger entries"]
        Wallet.objects.filter(pk=wallet.pk).update(balance=wallet.balance + added,
                                                   lifetime=wallet.lifetime + added)
        # Older than the demo orders: a shopper's long history behind the few recent ones.
        new_id = "md5('bench-order-' || g)::uuid"
        orders = clone_rows(
            cursor, Order._meta.db_table, where="p.id = %s", params=[prototype_order.pk], count=SCALED["orders"],
            overrides={"id": new_id, "idempotency_key": "'bench-order-' || g", "checkout_session_id": "NULL",
                       "superseded_by_id": "NULL", "stripe_payment_intent_id": "''",
                       "created_at": "p.created_at - g * interval '1 hour'",
                       "updated_at": "p.created_at - g * interval '1 hour'"})
        for model in (OrderItem, OrderPayment, OrderStatusChange):
            clone_rows(cursor, model._meta.db_table, where="p.order_id = %s", params=[prototype_order.pk],
                       count=SCALED["orders"], overrides={"order_id": new_id})
        for model in (Product, LedgerEntry, Wallet, Order, OrderItem, OrderPayment, OrderStatusChange):
            cursor.execute(f'ANALYZE "{model._meta.db_table}"')
    return {"products": products, "ledger entries": entries, "orders": orders,
            "seconds": time.monotonic() - started}


def forget_cached(redis_db: int) -> None:
    """Empty the bench's Redis database but for its claim: nothing cached at demo size is served at scaled size."""
    import redis

    from _common import _CLAIM_KEY, REDIS

    client = redis.Redis(db=redis_db, **REDIS)
    keys = [key for key in client.scan_iter(count=1000) if key != _CLAIM_KEY.encode()]
    for start in range(0, len(keys), 500):
        client.delete(*keys[start:start + 500])


# --- measuring -------------------------------------------------------------------------------------------------

def pages(seeded: dict) -> dict[str, tuple[str, dict]]:
    cookie = {"Cookie": seeded["cookie"]}
    return {
        BARE: ("/bench/bare/", {}),  # no session to read: the floor
        "balance fragment": ("/wallet/balance/", {**cookie, "HX-Request": "true"}),
        "catalog": ("/", cookie),
        "product page": (f"/products/{seeded['product']}/", cookie),
        "wallet": ("/wallet/", cookie),
        "cart": ("/cart/", cookie),
        "orders": ("/orders/", cookie),
    }


def summarise(results: dict[str, list]) -> dict[str, dict]:
    bare = [result.requests_per_second for result in results[BARE]]
    summary = {}
    for label, runs in results.items():
        summary[label] = {
            "rps": statistics.median(run.requests_per_second for run in runs),
            "p50": statistics.median(run.p50_ms for run in runs),
            "p99": statistics.median(run.p99_ms for run in runs),
            "ratio": statistics.median(run.requests_per_second / base for run, base in zip(runs, bare, strict=True)),
            "errors": sum(run.errors for run in runs),
        }
    return summary


def report(size: str, summary: dict, queries: dict) -> bool:
    print(f"  {size}:")
    print(f"    {'page':<20} {'queries':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6}")
    ok = True
    for label, row in summary.items():
        target = TARGETS.get(label)
        if target is None:
            verdict = "(baseline)"
        else:
            met = row["ratio"] >= target
            ok = ok and met
            verdict = f"target >= {target} {'ok' if met else 'BELOW TARGET'}"
        if row["errors"]:
            ok = False
            verdict += f"; {row['errors']} non-2xx/3xx answers or socket errors"
        print(f"    {label:<20} {queries[label]:>7} {row['rps']:>8.0f} {row['p50']:>8.1f} {row['p99']:>8.1f} "
              f"{row['ratio']:>6.2f}  {verdict}")
    return ok


def compare(demo: dict, scaled: dict) -> bool:
    ok = True
    drops = []
    for label in TARGETS:
        drop = 1 - scaled[label]["ratio"] / demo[label]["ratio"]
        flat = drop <= MAX_DROP
        ok = ok and flat
        drops.append(f"{label} {-drop:+.0%}{'' if flat else ' (DROPS TOO MUCH)'}")
    print(f"  demo -> scaled, each ratio (target: no drop beyond {MAX_DROP:.0%}): {', '.join(drops)}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per page and round (the issue's: 15)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    options = parser.parse_args()
    wrk = ensure_wrk()
    began = time.monotonic()
    os.environ["MEDIA_ROOT"] = MEDIA_ROOT
    extra_env = {"MEDIA_ROOT": MEDIA_ROOT}
    summaries, ok = {}, True
    try:
        with django_on_fresh_database(database=DATABASE, redis_db=REDIS_DB, settings=SETTINGS):
            from django.db import connections

            seeded = seed_demo_size()
            urls = pages(seeded)
            print(f"pages: wrk {options.threads} threads, {options.connections} connections, {options.seconds:g} s per "
                  f"page and round, {options.rounds} rounds; gunicorn {options.workers} sync workers, DEBUG off, "
                  f"PostgreSQL and Redis on 127.0.0.1; {os.cpu_count()} CPUs. Ratio = page / bare view, the median "
                  f"of the rounds' ratios. (seeded in {time.monotonic() - began:.0f} s)", flush=True)
            for size in ("demo size", "scaled size"):
                if size == "scaled size":
                    made = scale_up(seeded["shopper"])
                    size = (f"scaled size (+{made['products']:,} products, +{made['ledger entries']:,} ledger "
                            f"entries, +{made['orders']:,} orders, inserted in {made['seconds']:.0f} s)")
                    forget_cached(REDIS_DB)
                connections.close_all()
                port = free_port()
                server = start_gunicorn(port, options.workers, database=DATABASE, redis_db=REDIS_DB,
                                        extra_env=extra_env)
                try:
                    queries = check_and_count(port, urls, options.workers)
                    summary = summarise(measure(port, urls, options, wrk))
                finally:
                    stop(server)
                summaries[size] = summary
                ok = report(size, summary, queries) and ok
            demo, scaled = summaries.values()
            ok = compare(demo, scaled) and ok
    finally:
        shutil.rmtree(MEDIA_ROOT, ignore_errors=True)
    print(f"pages: {'every page met its targets' if ok else 'BELOW TARGET (see above)'}; "
          f"finished in {time.monotonic() - began:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
