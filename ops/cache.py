"""Django's Redis cache, made to degrade instead of fail when Redis cannot be reached.

Nothing the shop keeps only in the cache is needed to answer a request correctly: sessions live in PostgreSQL
(shop.sessions), balances are always read from PostgreSQL, and rate-limit counters (``RateLimitCache`` below,
a cache of their own) fail open or count per process. So during a
Redis outage a read is a miss, a write is dropped and the request carries on from the database, with short
socket timeouts (REDIS_SOCKET_TIMEOUT) so that a dead Redis costs milliseconds, not the default minutes. Each
failure is logged as a warning, at most once per WARN_EVERY seconds per process.
"""

import contextlib
import contextvars
import functools
import logging
import time

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
WARN_EVERY = 10.0
_last_warning = 0.0


def _degrade(fallback):
    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except UNREACHABLE as error:
                _warn(method.__name__, error)
                return fallback(*args, **kwargs) if callable(fallback) else fallback

        return wrapper

    return decorate


def _warn(operation: str, error: Exception) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= WARN_EVERY:
        _last_warning = now
        logger.warning("cache_unavailable operation=%s error=%s: serving from the database", operation,
                       error.__class__.__name__)


def _default(key, default=None, version=None):
    return default


def _incr_miss(key, delta=1, version=None):
    raise ValueError(f"Key {key!r} not found (the cache is unreachable).")


class OneClientPerPool(RedisCacheClient):
    """Django's Redis cache client, keeping one redis-py client per connection pool rather than making a new one
    for every operation: making one copies redis-py's table of some 150 response callbacks, which cost as much
    as a third of a cache round trip on loopback. A client is safe to share between threads (each command takes
    a connection from the pool for its duration), and its pool notices a fork."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = OneClientPerPool

    def problem(self) -> str | None:
        """None when Redis answers a PING (within the short socket timeout), else why not: for /healthz."""
        try:
            self._cache.get_client(write=True).ping()
        except UNREACHABLE as error:
            return f"unreachable: {error.__class__.__name__}"
        return None

    get = _degrade(_default)(RedisCache.get)
    set = _degrade(None)(RedisCache.set)
    add = _degrade(False)(RedisCache.add)
    touch = _degrade(False)(RedisCache.touch)
    delete = _degrade(False)(RedisCache.delete)
    has_key = _degrade(False)(RedisCache.has_key)
    incr = _degrade(_incr_miss)(RedisCache.incr)
    get_many = _degrade({})(RedisCache.get_many)
    set_many = _degrade(lambda data, *args, **kwargs: list(data))(RedisCache.set_many)
    delete_many = _degrade(None)(RedisCache.delete_many)
    clear = _degrade(False)(RedisCache.clear)


def shared_flag_raise(key: str, *, seconds: int) -> bool:
    """Raise the flag ``key`` (for ``seconds`` at most) in the default cache, shared by web and worker processes.
    True when this call raised it -- or when the cache cannot tell (Redis unreachable, or a cache in each
    process's own memory, as under ``make run``): the caller then acts as the first; False when it was up."""
    from django.core.cache import caches

    cache = caches["default"]
    if not isinstance(cache, ResilientRedisCache):
        return True
    try:
        return RedisCache.add(cache, key, 1, seconds)
    except UNREACHABLE as error:
        _warn("add", error)
        return True


def shared_flag_lower(key: str) -> None:
    from django.core.cache import caches

    caches["default"].delete(key)


class CacheUnavailable(Exception):
    """The rate-limit counters cannot be reached (not a ValueError: django-ratelimit would take that for a miss
    and refuse every request)."""


_counting_locally: contextvars.ContextVar[bool] = contextvars.ContextVar("rate_limit_counting_locally",
                                                                          default=False)


@contextlib.contextmanager
def counting_locally_if_unreachable():
    """Within this block, ``RateLimitCache`` counts in this process's memory while Redis cannot be reached."""
    token = _counting_locally.set(True)
    try:
        yield
    finally:
        _counting_locally.reset(token)


# Django's RedisCache.incr is EXISTS, then INCRBY: two round trips, and should the key expire between them, INCRBY
# makes it again with no timeout -- a counter Redis would keep for ever. This does both in one atomic script.
_INCR_IF_PRESENT = ("if redis.call('exists', KEYS[1]) == 1 then return redis.call('incrby', KEYS[1], ARGV[1]) "
                    "end return false")


def _incr_if_present(self, key, delta=1, version=None):
    key = self.make_and_validate_key(key, version=version)
    client = self._cache.get_client(key, write=True)
    value = client.register_script(_INCR_IF_PRESENT)(keys=[key], args=[delta])  # EVALSHA; EVAL the first time
    if value is None:
        raise ValueError(f"Key {key!r} not found.")
    return value


def _counter(name: str, redis_method=None):
    redis_method = redis_method or getattr(RedisCache, name)

    @functools.wraps(redis_method)
    def counted(self, *args, **kwargs):
        try:
            return redis_method(self, *args, **kwargs)
        except UNREACHABLE as error:
            _warn(f"rate_limit_{name}", error)
            if _counting_locally.get():
                return getattr(self.local, name)(*args, **kwargs)
            raise CacheUnavailable(f"the rate-limit counters are unreachable: {error.__class__.__name__}") from error

    return counted


class RateLimitCache(RedisCache):
    """django-ratelimit's counters in Redis, shared by every web process. When Redis cannot be reached, each
    counter operation raises ``CacheUnavailable`` (the limit fails open: ``ops.ratelimits``) -- or, inside
    ``counting_locally_if_unreachable``, counts in a per-process memory cache instead (log-in and sign-up keep a
    limit of sorts against password guessing through an outage).

    A counted request costs two round trips: django-ratelimit's ``add`` (SET NX with the window's timeout; it
    succeeds for the window's first request) and ``incr`` (one script instead of Django's EXISTS and INCRBY)."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = OneClientPerPool
        # One name for the whole process: every thread's instance shares the same counters.
        self.local = LocMemCache("rate-limit-fallback", {"OPTIONS": {"MAX_ENTRIES": 10000}})

    add = _counter("add")
    incr = _counter("incr", _incr_if_present)
    get = _counter("get")
    set = _counter("set")
