"""Settings for bench/load.py's gunicorn: the shop's own settings and middleware (rate limits, CSP, request ids,
access log lines included), with a URLconf that adds the bare baseline view. Not used by the shop."""

import os

from config.settings import *  # noqa: F403
from config.settings import CACHES

DEBUG = False  # demo Stripe mode needed DEBUG while config.settings loaded; no debug pages or query log here
ROOT_URLCONF = "load_site.urls"
ALLOWED_HOSTS = ["127.0.0.1"]
# Keys of this run only, in a Redis database others may share: nothing to flush afterwards but our own prefix.
CACHES["default"]["KEY_PREFIX"] = os.environ.get("BENCH_CACHE_PREFIX", "bench-load")
