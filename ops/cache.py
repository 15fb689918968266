"""Django's Redis cache, made to degrade instead of fail when Redis cannot be reached.

Nothing the shop keeps only in the cache is needed to answer a request correctly: sessions are written through
to PostgreSQL (cached_db), balances are always read from PostgreSQL, rate-limit counters fail open. So during a
Redis outage a read is a miss, a write is dropped and the request carries on from the database, with short
socket timeouts (REDIS_SOCKET_TIMEOUT) so that a dead Redis costs milliseconds, not the default minutes. Each
failure is logged as a warning, at most once per WARN_EVERY seconds per process.
"""

import functools
import logging
import time

from django.core.cache.backends.redis import RedisCache
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


class ResilientRedisCache(RedisCache):
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
