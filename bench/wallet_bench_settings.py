"""Settings for the gunicorn that bench/balance_fragment.py starts: the test settings (PostgreSQL, Redis) as
production runs them -- DEBUG off, persistent database connections -- plus a URL module with one bare view for
the baseline and a middleware that reports each request's SQL queries in a response header."""

if __name__ == "__main__":  # `make bench` runs every file in bench/; this one is a module, not a benchmark
    raise SystemExit(0)

from tests.settings import *  # noqa: E402,F403
from tests.settings import DATABASES, MIDDLEWARE  # noqa: E402

DEBUG = False
DATABASES["default"]["CONN_MAX_AGE"] = 60
ROOT_URLCONF = "bench.wallet_bench_urls"
MIDDLEWARE = ["bench.wallet_bench_urls.count_queries", *MIDDLEWARE]
