"""Settings for the shop, read from the environment (see README.md and .env.example).

Each setting is defined once, in its final form, in the section of its concern."""

import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
import stripe
from csp.constants import NONE, SELF

from config import storage
from config.env import config_error, env_bool, env_int, env_list, env_str
from ops.logs import FORMATTERS

# --- Core -----------------------------------------------------------------------------------------------------
BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR") or BASE_DIR / "var")

DEBUG = env_bool("DEBUG", False)

# A fixed key is acceptable only on a developer's machine; anywhere else a leaked default key would let anyone
# forge sessions and signed download links.
_DEV_SECRET_KEY = "django-insecure-dev-only-key-never-use-in-production-0123456789abcdef"
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise config_error("SECRET_KEY", "is required when DEBUG is off (50+ random characters)")
    SECRET_KEY = _DEV_SECRET_KEY
elif not DEBUG and (SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5):
    raise config_error("SECRET_KEY", "must be a random value of at least 50 characters when DEBUG is off")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not ALLOWED_HOSTS:
    raise config_error("ALLOWED_HOSTS", "is required when DEBUG is off (comma-separated host names)")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # {% url %} remembering argument-free reversals (a quarter of a page's template time otherwise).
            "builtins": ["ops.templatetags.urls"],
        },
    },
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Stripe ---------------------------------------------------------------------------------------------------
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_MODE = env_str("STRIPE_MODE") or ("stripe" if STRIPE_SECRET_KEY else "demo")
if STRIPE_MODE not in {"demo", "stripe"}:
    raise config_error("STRIPE_MODE", f"must be 'demo' or 'stripe', got {STRIPE_MODE!r}")
if STRIPE_MODE == "demo":
    # Demo payments complete without money changing hands: never on a public server, never next to a live key.
    if not DEBUG:
        raise config_error("STRIPE_MODE", "'demo' is refused when DEBUG is off: set STRIPE_MODE=stripe and keys")
    if STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_")):
        raise config_error("STRIPE_MODE", "'demo' is refused while STRIPE_SECRET_KEY is a live key")
    STRIPE_SECRET_KEY = STRIPE_SECRET_KEY or "sk_test_demo_shop_0000000000000000"
    STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET") or "whsec_demo_shop_0000000000000000"
    STRIPE_HTTP_CLIENT = "stripe_fake.transport.FakeStripeHTTPClient"
else:
    STRIPE_HTTP_CLIENT = ""  # stripe-python's own RequestsClient (checkout/gateway.py)
    if not STRIPE_SECRET_KEY.startswith(("sk_test_", "sk_live_", "rk_test_", "rk_live_")):
        raise config_error("STRIPE_SECRET_KEY", "is required with STRIPE_MODE=stripe (sk_test_... or sk_live_...)")
    STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
    if not STRIPE_WEBHOOK_SECRET.startswith("whsec_"):
        raise config_error("STRIPE_WEBHOOK_SECRET", "is required with STRIPE_MODE=stripe (whsec_...)")
# stripe-python retries network errors and 5xx itself, always with our idempotency keys (checkout/gateway.py).
# Celery tasks use these; web requests, where a shopper and a gunicorn worker wait, the tighter STRIPE_WEB_* ones:
# worst case timeout x (retries + 1) + backoff (README: Stripe), 61.5 s and 16.5 s by default -- the latter well
# under gunicorn's 30 s worker timeout.
STRIPE_MAX_NETWORK_RETRIES = env_int("STRIPE_MAX_NETWORK_RETRIES", 2)
STRIPE_TIMEOUT_SECONDS = env_int("STRIPE_TIMEOUT_SECONDS", 20, minimum=1)
STRIPE_WEB_MAX_NETWORK_RETRIES = env_int("STRIPE_WEB_MAX_NETWORK_RETRIES", 1)
STRIPE_WEB_TIMEOUT_SECONDS = env_int("STRIPE_WEB_TIMEOUT_SECONDS", 8, minimum=1)
# The API version sent with every call and expected on every event: by default the one the pinned stripe-python
# was generated for, whose typed objects and params match what Stripe answers. The webhook endpoint is created
# at the same version (README: Stripe); events of another version are logged and flagged in the admin.
STRIPE_API_VERSION = env_str("STRIPE_API_VERSION") or stripe.api_version
if not re.fullmatch(r"\d{4}-\d{2}-\d{2}(\.[a-z_]+)?", STRIPE_API_VERSION):
    raise config_error("STRIPE_API_VERSION", f"must look like {stripe.api_version!r}, got {STRIPE_API_VERSION!r}")
# Not read from the environment: Stripe's own address unless a test serves the fake Stripe over HTTP on loopback.
STRIPE_API_BASE = ""

# --- Apps and middleware --------------------------------------------------------------------------------------
INSTALLED_APPS = [
    # Django's admin site, plus the staff dashboard at /admin/dashboard/ linked from its index.
    "config.admin.ShopAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # The shop's information pages (About, Contact, Terms, Refund policy, Privacy), edited by staff: shop/pages.py.
    "django.contrib.sites",
    "django.contrib.flatpages",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "ops",
    "shop",
    "wallet",
    "checkout",
    "orders",
    "csp",
    # The fake Stripe is an app of its own, installed only in demo mode: with the real Stripe its code is never
    # imported and its table never created.
    *(["stripe_fake"] if STRIPE_MODE == "demo" else []),
    # Likewise the demo mailbox: every mail sent is kept and shown at /demo-mailbox/ (see Email).
    *(["demo_mailbox"] if STRIPE_MODE == "demo" else []),
]
if STRIPE_MODE == "demo":
    TEMPLATES[0]["OPTIONS"]["context_processors"].append("demo_mailbox.context_processors.mailbox")

MIDDLEWARE = [
    # First: every log line of a request (and of the Celery tasks it queues) carries its id, also sent back as
    # X-Request-ID, and one access line per request is logged (see Logging).
    "ops.middleware.request_id",
    "django.middleware.security.SecurityMiddleware",
    "ops.middleware.ContentSecurityPolicy",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user read with the header's balance and cart count, in one query (shop/header.py).
    "shop.header.ShopperHeaderMiddleware",
    # Staff actions in the admin (adjustments, refunds, re-processing webhooks): one log line each, who and why.
    "ops.middleware.staff_actions_log",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "ops.middleware.htmx_login_redirect",
    # After CSRF and authentication: a forged request is refused as such, a shopper is counted as themselves.
    "ops.middleware.rate_limits",
]

# --- Database -------------------------------------------------------------------------------------------------
# Without DATABASE_URL the shop runs on a SQLite file so that `make run` needs no services. IMMEDIATE
# transactions take SQLite's write lock at BEGIN, so two writers queue up instead of failing with
# "database is locked" half-way through a transaction that moves points.
# A database error (PostgreSQL restarting, a failover) answers 503 with Retry-After (ops.errors, the URLconf's
# handler500) instead of 500; CONN_HEALTH_CHECKS makes the next request reconnect.
_database_url = env_str("DATABASE_URL")
if _database_url:
    try:
        _database = dj_database_url.parse(_database_url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
                                          conn_health_checks=True)
    except Exception as error:  # dj-database-url raises several types for a malformed URL
        raise config_error("DATABASE_URL", f"is not a valid database URL ({error})") from None
    if _database.get("ENGINE") not in {"django.db.backends.postgresql", "django.db.backends.sqlite3"}:
        raise config_error("DATABASE_URL", "must be a postgres:// or sqlite:// URL")
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    _database = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": VAR_DIR / "db.sqlite3",
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20,
                    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"},
    }
# Prepared statements: Django binds the ORM's parameters on the client, so its queries are never prepared
# whatever this says. The hot statements bind on the server (ops/db.py): the ledger's spend
# (wallet/services/ledger.py), the header's read of session, user and wallet (wallet/badge.py) and the storefront
# pages' queries (ops/prepared.py); with this psycopg prepares each after a few runs on a connection instead of
# PostgreSQL parsing and planning it every time (bench/wallet_spend.py, bench/pages.py). Behind PgBouncer in
# transaction mode, use PgBouncer >= 1.21 with max_prepared_statements, or set DB_PREPARE=off.
if _database.get("ENGINE") == "django.db.backends.postgresql" and env_bool("DB_PREPARE", True):
    _database.setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)
DATABASES = {"default": _database}

# --- Cache and sessions ---------------------------------------------------------------------------------------
# A Redis outage degrades the cache instead of failing requests (ops.cache: misses, dropped writes, short socket
# timeouts); balances never come from the cache. Sessions live in PostgreSQL only (shop.sessions), never in the
# cache: a log-out whose cache delete a Redis blip swallowed would otherwise come back to life with Redis.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        raise config_error("REDIS_URL", "must start with redis://, rediss:// or unix://")
    _redis_timeout = env_int("REDIS_SOCKET_TIMEOUT_MS", 250, minimum=10) / 1000
    _redis_options = {"socket_connect_timeout": _redis_timeout, "socket_timeout": _redis_timeout}
    CACHES = {
        "default": {"BACKEND": "ops.cache.ResilientRedisCache", "LOCATION": REDIS_URL, "OPTIONS": _redis_options},
        "ratelimit": {"BACKEND": "ops.cache.RateLimitCache", "LOCATION": REDIS_URL, "OPTIONS": _redis_options},
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
              "ratelimit": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ratelimit"}}

# --- Celery ---------------------------------------------------------------------------------------------------
# Without CELERY_BROKER_URL, Celery's filesystem transport keeps the queue in files under var/, so `make run`
# has a real worker and beat with no broker to install. Production uses Redis.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    _processed_dir = VAR_DIR / "celery" / "processed"
    _control_dir = VAR_DIR / "celery" / "control"
    for _folder in (_queue_dir, _processed_dir, _control_dir):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_processed_dir),
        "control_folder": str(_control_dir),
        "store_processed": False,
    }
elif not CELERY_BROKER_URL.startswith(("redis://", "rediss://", "amqp://", "memory://")):
    raise config_error("CELERY_BROKER_URL", "must be a redis://, amqp:// or filesystem:// URL")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fixup closes the database connections around every task until this many tasks (twice over)
# have run; out of reach, so that a task keeps its connection for CONN_MAX_AGE like a request does and closes it
# when it broke (ops.db.keep_connections_across_tasks) instead of connecting anew each time.
CELERY_DB_REUSE_MAX = 10**12
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
# The worker and beat log through the same handler and format as the web processes instead of Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Security and CSP -----------------------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_ENGINE = "shop.sessions"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # The load balancer's health check speaks plain HTTP on the private network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    # Only behind a proxy that overwrites X-Forwarded-Proto; otherwise a client could claim HTTPS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# No inline scripts or styles anywhere in the shop's pages: htmx's indicator styles are off (base.html) and live
# in shop.css. The admin (Django's own templates and our list columns) keeps a few style attributes, so
# ops.middleware.ContentSecurityPolicy relaxes *styles only* under /admin/; its scripts stay 'self'.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # Previews on object storage are loaded from the bucket's (or its CDN's) origin.
        "img-src": [SELF, "data:", *storage.previews_origins()],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        # A non-htmx "Pay" form is answered with a redirect to Stripe's hosted page: form-action covers it.
        "form-action": [SELF] + (["https://checkout.stripe.com"] if STRIPE_MODE == "stripe" else []),
    },
}

# --- Rate limits ----------------------------------------------------------------------------------------------
# ops.middleware.rate_limits applies these to the named views' POSTs (one table instead of decorators spread
# over four apps); counters live in the "ratelimit" cache, i.e. Redis, shared by every web process. A refused
# request gets templates/429.html (or its #message part for htmx) with Retry-After. RATELIMIT_ENABLE=false
# turns them off (the test settings do; tests/ops/test_security_ratelimits.py turns them back on).
# With Redis unreachable, the views in RATE_LIMITS_COUNT_LOCALLY count per process; all others fail open.
RATELIMIT_ENABLE = env_bool("RATELIMIT_ENABLE", True)
RATELIMIT_USE_CACHE = "ratelimit"
RATE_LIMITS_COUNT_LOCALLY = frozenset({"login", "signup", "password_reset", "email_change"})
# Behind N proxies that each append to X-Forwarded-For, the client is the N-th address from the right; 0 means
# REMOTE_ADDR is the client (no proxy, or a proxy that rewrites REMOTE_ADDR).
RATELIMIT_TRUSTED_PROXIES = env_int("RATELIMIT_TRUSTED_PROXIES", 0)
RATELIMIT_IP_META_KEY = "ops.ratelimits.client_ip"
RATE_LIMITS = {
    # view name: [(key, rate), ...]: every one of them must allow the request.
    # The per-account keys lower-case the address (ops.ratelimits): U@Example.com is counted as u@example.com.
    "login": [("ip", env_str("RATE_LIMIT_LOGIN") or "20/m"), ("ops.ratelimits.posted_username", "10/m")],
    "signup": [("ip", env_str("RATE_LIMIT_SIGNUP") or "10/m")],
    # Reset mails: per address so nobody is flooded with them, per client so addresses cannot be tried in bulk.
    "password_reset": [("ip", env_str("RATE_LIMIT_PASSWORD_RESET") or "10/m"),
                       ("ops.ratelimits.posted_email", "5/h")],
    # The form checks the current password: a stolen session cannot guess it quickly.
    "email_change": [("user_or_ip", env_str("RATE_LIMIT_EMAIL_CHANGE") or "5/m")],
    "points:start": [("user_or_ip", env_str("RATE_LIMIT_CHECKOUT") or "20/m")],
    "points:pay": [("user_or_ip", env_str("RATE_LIMIT_CHECKOUT") or "20/m")],
    "orders:cart_add": [("user_or_ip", env_str("RATE_LIMIT_CART") or "120/m")],
    "orders:buy_now": [("user_or_ip", env_str("RATE_LIMIT_CHECKOUT") or "20/m")],
    "orders:cart_remove": [("user_or_ip", env_str("RATE_LIMIT_CART") or "120/m")],
    "orders:pay_with_points": [("user_or_ip", env_str("RATE_LIMIT_PAY_POINTS") or "20/m")],
    "orders:pay_by_card": [("user_or_ip", env_str("RATE_LIMIT_CHECKOUT") or "20/m")],
    # "Check again" queues a check with Stripe (deduplicated per session); this bounds the requests themselves.
    "orders:check": [("user_or_ip", env_str("RATE_LIMIT_CHECK_AGAIN") or "6/m")],
    "points:check": [("user_or_ip", env_str("RATE_LIMIT_CHECK_AGAIN") or "6/m")],
    "webhooks:stripe": [("ip", env_str("RATE_LIMIT_WEBHOOK") or "1200/m")],
}
# django-ratelimit's checks: W001 only says Django's own RedisCache is not on its list (it increments with
# Redis INCR, which is atomic); E003 refuses a per-process cache, which would count per gunicorn worker. `make
# run` (DEBUG, no REDIS_URL) is a single developer: there the limits are per process and the error is silenced.
# With DEBUG off and no REDIS_URL, E003 stays and `migrate` (the release step) refuses to run.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]
if DEBUG and CACHES["ratelimit"]["BACKEND"].endswith("LocMemCache"):
    SILENCED_SYSTEM_CHECKS.append("django_ratelimit.E003")

# --- Logging --------------------------------------------------------------------------------------------------
# Every line carries the id of the request (or task) it was written for (ops.logs.RequestIdFilter, set by
# ops.middleware.request_id); ops.requests logs one access line per request (gunicorn's own access log would
# be a second line without the id, so the Procfile does not turn it on). LOG_FORMAT: plain | kv | json.
LOG_FORMAT = env_str("LOG_FORMAT") or "plain"
if LOG_FORMAT not in {"plain", "kv", "json"}:
    raise config_error("LOG_FORMAT", f"must be plain, kv or json, got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "ops.logs.RequestIdFilter"}},
    "formatters": {"shop": FORMATTERS[LOG_FORMAT]},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "shop", "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL") or "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Email ----------------------------------------------------------------------------------------------------
# Mail goes to the console (the worker's log) unless an SMTP server is configured. In demo mode every mail is also
# kept in the database and shown at /demo-mailbox/ (the app demo_mailbox): its backend stores the message, then
# hands it to the console or SMTP backend.
EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
if STRIPE_MODE == "demo":
    DEMO_MAILBOX_NEXT_BACKEND = EMAIL_BACKEND
    EMAIL_BACKEND = "demo_mailbox.backend.DemoMailboxBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or "shop@localhost"

# --- Static and media -----------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or VAR_DIR / "media")
# Product files: the filesystem under MEDIA_ROOT (the embedded default, one machine), or any S3-compatible object
# storage when AWS_STORAGE_BUCKET_NAME is set (config/storage.py; README: Files on object storage). "default"
# holds the full files, private; "previews" the catalog thumbnails, public with a long cache.
STORAGES = {
    **storage.storages_from_environment(media_root=MEDIA_ROOT),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ON_OBJECT_STORAGE = storage.is_object_storage(STORAGES)
# Uploads above this size are spooled to a temporary file by Django, then sent to object storage in parts
# (never read into memory whole); below it they stay in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --- Accounts -------------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "shop.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "shop:catalog"
LOGOUT_REDIRECT_URL = "shop:catalog"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Password reset links use Django's tokens and PASSWORD_RESET_TIMEOUT (3 days); they work once. An e-mail change
# is confirmed by a signed link to the new address that works this long (shop.services).
EMAIL_CHANGE_LINK_TTL = env_int("EMAIL_CHANGE_LINK_TTL", 24 * 60 * 60, minimum=300)

# --- Shop -----------------------------------------------------------------------------------------------------
# The shop's public address, for links in emails (requests build their own from the Host header).
SITE_ID = 1  # the sites framework, for flat pages; seed_demo names it after the shop
SITE_URL = (env_str("SITE_URL") or "http://127.0.0.1:8000").rstrip("/")
if not SITE_URL.startswith(("http://", "https://")):
    raise config_error("SITE_URL", "must start with http:// or https://")
# Where the fake Stripe (demo mode) POSTs its events, as a real account's dashboard would say.
STRIPE_FAKE_WEBHOOK_URL = env_str("STRIPE_FAKE_WEBHOOK_URL") or f"{SITE_URL}/webhooks/stripe/"
# How long a download link from an order page stays valid.
DOWNLOAD_LINK_TTL = timedelta(seconds=env_int("DOWNLOAD_LINK_TTL", 60 * 60, minimum=60))
# How a download, once the shop's checks pass, reaches the buyer without a web worker carrying it (orders/delivery.py):
# on object storage, a redirect to a presigned URL valid this many seconds (a transfer that started may take
# longer); on the filesystem, DOWNLOAD_OFFLOAD hands the file to the web server in front (x-accel-redirect for
# nginx, with DOWNLOAD_ACCEL_LOCATION its internal location; x-sendfile for Apache/lighttpd), or, with "none",
# the web process streams it on one of its threads (the Procfile's gthread workers).
DOWNLOAD_URL_TTL = env_int("DOWNLOAD_URL_TTL", 5 * 60, minimum=10)
DOWNLOAD_OFFLOAD = env_str("DOWNLOAD_OFFLOAD") or "none"
if DOWNLOAD_OFFLOAD not in {"none", "x-accel-redirect", "x-sendfile"}:
    raise config_error("DOWNLOAD_OFFLOAD", f"must be none, x-accel-redirect or x-sendfile, got {DOWNLOAD_OFFLOAD!r}")
DOWNLOAD_ACCEL_LOCATION = "/" + (env_str("DOWNLOAD_ACCEL_LOCATION") or "/protected-media/").strip("/") + "/"
SHOP_CURRENCY = "usd"
CHECKOUT_SESSION_TTL = timedelta(seconds=env_int("CHECKOUT_SESSION_TTL", 24 * 60 * 60, minimum=60))
# How many copies of limited products (those with a stock) one shopper may hold reserved by an unpaid card checkout.
RESERVATION_LIMIT_PER_SHOPPER = env_int("RESERVATION_LIMIT_PER_SHOPPER", 5, minimum=1)
