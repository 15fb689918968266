"""CPU time and queries per page, in process (Django's test client, a signed-in shopper), with the shared fragments
(ops/fragments.py: the catalog grid, the product page's blocks, the package list) served from the cache and
``{% url %}`` remembering reversals, against both off (every fragment rendered, Django's own reverse), in the
same rounds: at demo size and with 10k more products.

    .venv/bin/python bench/render_cache.py [--requests 50] [--rounds 7] [--products 10000]

No web server and no network between client and view: the figures are the view's own cost (middleware, queries,
templates), the part the cache can change; bench/pages.py measures whole requests with wrk. The Redis database is
claimed as the other benches do, or ``BENCH_REDIS_URL`` names one. Without ops/fragments.py (the code before the
cache) only the "rendered" column is printed.
CPU time of this process, not wall-clock time: PostgreSQL's and Redis's work is in their own processes, and the
figure is what the cache can change; on a machine shared with other work it is also far steadier.
Target: no page costs more queries cached than rendered, and the catalog (mostly its grid) at least 15% less CPU.
"""

import argparse
import os
import statistics
import sys
import time

import _common
from _common import claim_redis_db, django_on_fresh_database, run_database

DATABASE = run_database("bench_render")
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "")
REDIS_DB = -1 if BENCH_REDIS_URL else claim_redis_db()
TARGET_SAVING = 0.15
_bench_environment = _common.bench_environment


def _environment(**kwargs):
    environment = _bench_environment(**kwargs)
    if BENCH_REDIS_URL:
        environment["REDIS_URL"] = environment["CELERY_BROKER_URL"] = BENCH_REDIS_URL
    return environment


_common.bench_environment = _environment


def seed_demo():
    from django.core.management import call_command

    call_command("seed_demo", verbosity=0)


def add_products(count: int):
    from shop.models import Product

    Product.objects.bulk_create(
        [Product(title=f"Scaled picture {n:05d}", slug=f"scaled-picture-{n:05d}", description="A scaled picture.\n" * 5,
                 image=f"products/scaled-{n}.png", preview=f"previews/scaled-{n}.png", price_cents=100 + n % 900,
                 price_points=90 + n % 800, stock=(n % 7) or None) for n in range(count)],
        batch_size=2000)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE shop_product")


def signed_in_client():
    from django.test import Client

    from shop.models import User

    client = Client()
    client.force_login(User.objects.get(email="shopper@example.com"))
    return client


def pages():
    from shop.models import Product

    middle = Product.objects.active().order_by("title")[Product.objects.active().count() // 2]
    return [
        ("catalog /", "/", {}),
        ("catalog page 3 (htmx)", "/?page=3", {"HX-Request": "true"}),
        ("product", middle.get_absolute_url(), {}),
        ("packages /points/", "/points/", {}),
        ("cart /cart/", "/cart/", {}),
        ("wallet /wallet/", "/wallet/", {}),
        ("orders /orders/", "/orders/", {}),
    ]


def measure(client, path, headers, requests: int) -> float:
    """This process's CPU milliseconds per request, over ``requests`` requests: the view's own work (PostgreSQL's
    and Redis's are in their processes), which a machine shared with other work does not inflate as it does
    wall-clock time."""
    started = time.process_time()
    for _ in range(requests):
        response = client.get(path, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
    return (time.process_time() - started) * 1000 / requests


def queries(client, path, headers) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(path, headers=headers)
    return len(captured)


def run_size(label: str, client, requests: int, rounds: int) -> bool:
    try:
        from ops import fragments
        from ops.templatetags import urls
    except ImportError:
        fragments = urls = None
    from django.core.cache import cache

    modes = ["rendered", "cached"] if fragments else ["rendered"]
    print(f"\n{label}: CPU ms per request in this process (median of {rounds} rounds of {requests}), queries")
    print(f"  {'page':<24}" + "".join(f"{mode:>12} {'q':>3}" for mode in modes) + "   saving")
    met = True
    for name, path, headers in pages():
        times = {mode: [] for mode in modes}
        counts = {}
        for _round in range(rounds):
            for mode in modes:
                if fragments:
                    fragments.ENABLED = urls.REMEMBER = mode == "cached"
                cache.clear()
                if fragments:
                    fragments.local_cache().clear()
                client.get(path, headers=headers)  # warm: templates loaded, fragments cached
                counts[mode] = queries(client, path, headers)
                times[mode].append(measure(client, path, headers, requests))
        medians = {mode: statistics.median(values) for mode, values in times.items()}
        line = f"  {name:<24}" + "".join(f"{medians[mode]:>12.2f} {counts[mode]:>3}" for mode in modes)
        if fragments:
            saving = 1 - medians["cached"] / medians["rendered"]
            line += f"   {saving:>5.0%}"
            met &= counts["cached"] <= counts["rendered"]
            if name == "catalog /":
                met &= saving >= TARGET_SAVING
        print(line)
    return met


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--products", type=int, default=10_000)
    args = parser.parse_args()
    with django_on_fresh_database(database=DATABASE, redis_db=REDIS_DB):
        from django.conf import settings

        # The test client without setup_test_environment: templates render as in production (no signal per
        # render for the client to collect).
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        seed_demo()
        client = signed_in_client()
        met = run_size("demo size (12 products)", client, args.requests, args.rounds)
        add_products(args.products)
        met &= run_size(f"{args.products:,} more products", client, args.requests, args.rounds)
    verdict = "ok" if met else "BELOW TARGET"
    print(f"\nrender cache: {verdict} (no page more queries cached; the catalog >= {TARGET_SAVING:.0%} less CPU)")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
