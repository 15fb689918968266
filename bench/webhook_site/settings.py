"""Settings for bench/webhooks.py's gunicorn: the shop's own settings, with a bench-only URLconf that serves
the real webhook endpoint next to a bare one-query view (the baseline). Not used by the shop."""

from config.settings import *  # noqa: F403

DEBUG = False  # demo Stripe mode needed DEBUG while config.settings loaded; no debug pages or query log here
ROOT_URLCONF = "webhook_site.urls"
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "root": {"handlers": [], "level": "WARNING"}}  # no per-request log lines in the measurement
# One client address sends every delivery here, far beyond the webhook's per-address limit: the bench measures
# what a delivery costs, not the limiter's refusals.
RATELIMIT_ENABLE = False
