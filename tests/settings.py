"""Test settings: production settings on the local PostgreSQL and Redis, never SQLite, never a mocked queue.

Each variable can be overridden from the environment, so parallel runs can use separate databases
(TEST_DATABASE_NAME) and Redis databases (REDIS_URL, CELERY_BROKER_URL)."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("DEBUG", "true")  # demo Stripe mode is only allowed with DEBUG on; Django's test runner
# still runs the views with DEBUG=False.
os.environ.setdefault("DATABASE_URL", "postgres://root@127.0.0.1:5432/test")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/1")
os.environ.setdefault("STRIPE_MODE", "demo")
# The fake Stripe's webhooks go to the test client's host unless a test points them at a live server: a name that
# resolves nowhere, so a stray real POST never reaches a shop someone runs on this machine (subprocesses inherit it).
os.environ.setdefault("STRIPE_FAKE_WEBHOOK_URL", "http://testserver/webhooks/stripe/")
# Every test client comes from 127.0.0.1: shared counters would refuse unrelated tests. The rate-limit tests turn
# them back on (tests/ops/test_security_ratelimits.py).
os.environ.setdefault("RATELIMIT_ENABLE", "false")
os.environ.setdefault("MEDIA_ROOT", str(Path(tempfile.gettempdir()) / f"shop-test-media-{os.getuid()}"))
# Playwright's sync API runs an event loop in the test thread; Django refuses ORM calls from such a thread
# unless told that the test owns the consequences.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from config.settings import *  # noqa: E402,F403
from config.settings import DATABASES, STORAGES  # noqa: E402

DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME", "test_shop")}
DATABASES["default"]["CONN_MAX_AGE"] = 0

# The manifest storage needs `collectstatic` to have run; tests render templates straight from the finders.
# tests/config/test_static.py runs collectstatic with the production storage to cover it.
# Product files stay where the environment says (the filesystem unless AWS_STORAGE_BUCKET_NAME is set; the object
# storage tests switch per test, tests/s3.py).
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
STATIC_ROOT = Path(tempfile.gettempdir()) / f"shop-test-static-{os.getuid()}"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True  # serve from the app folders, as `make run` does after collectstatic
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Where the demo mailbox's backend hands mail on once it has kept it (tests that switch EMAIL_BACKEND to it still
# see mail.outbox).
DEMO_MAILBOX_NEXT_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
