from concurrent.futures import ThreadPoolExecutor

from django.core.cache import caches

from ops.cache import OneClientPerPool


def test_each_cache_keeps_one_redis_client_and_threads_share_it():
    cache = caches["default"]
    assert isinstance(cache._cache, OneClientPerPool)
    assert cache._cache.get_client() is cache._cache.get_client(write=True)

    def round_trip(number):
        cache.set(f"one-client-{number}", number, 30)
        return cache.get(f"one-client-{number}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(round_trip, range(200))) == list(range(200))
    cache.delete_many([f"one-client-{number}" for number in range(200)])


def test_the_rate_limit_counters_keep_one_client_too():
    counters = caches["ratelimit"]

    assert counters.add("one-client-counter", 1, 30) is True
    assert counters.incr("one-client-counter") == 2
    assert counters._cache.get_client() is counters._cache.get_client(write=True)
    counters.delete("one-client-counter")
