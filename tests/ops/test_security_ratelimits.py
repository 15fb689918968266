"""Rate limits (settings.RATE_LIMITS): log-in, sign-up, checkout, cart changes, paying with points, the webhook."""

import time
import uuid
from types import SimpleNamespace

import django_ratelimit.core
import pytest
import redis
from django.core.cache import caches
from django.test import RequestFactory
from django.urls import reverse

from ops.ratelimits import client_ip

SAMPLE_ARGS = {"points:pay": [uuid.uuid4()], "orders:cart_remove": [1],
               "orders:check": [uuid.uuid4()], "points:check": [uuid.uuid4()]}


@pytest.fixture
def limits(settings, monkeypatch):
    """Rate limits on, counted under a prefix of this test's own; ``limits(name, rate)`` sets one view's rate.
    The rate limiter's clock stands still for the test: a counting window ending between two of its requests
    (each key's window ends at a second of its own each minute) would start the count again."""
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMIT_CACHE_PREFIX = f"rl-test-{uuid.uuid4().hex}:"
    now = time.time()
    monkeypatch.setattr(django_ratelimit.core, "time", SimpleNamespace(time=lambda: now))

    def set_rate(view_name, rate, key="ip"):
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, view_name: [(key, rate)]}

    return set_rate


@pytest.mark.parametrize("view_name", ["login", "signup", "password_reset", "email_change",
                                       "points:start", "points:pay", "orders:cart_add",
                                       "orders:buy_now", "orders:cart_remove", "orders:pay_with_points",
                                       "orders:check", "points:check", "webhooks:stripe"])
def test_each_limited_view_answers_429_with_retry_after_once_over_its_rate(client, shopper, limits, view_name):
    client.force_login(shopper)
    limits(view_name, "2/m")
    url = reverse(view_name, args=SAMPLE_ARGS.get(view_name, []))

    allowed = [client.post(url, {}).status_code for _ in range(2)]
    refused = client.post(url, {})

    assert 429 not in allowed
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60


def test_the_limits_cover_every_view_the_issue_names(settings):
    assert set(settings.RATE_LIMITS) >= {"login", "signup", "password_reset", "email_change",
                                         "points:start", "points:pay", "orders:cart_add",
                                         "orders:buy_now", "orders:cart_remove", "orders:pay_with_points",
                                         "orders:check", "points:check", "webhooks:stripe"}


def test_a_refused_log_in_gets_the_429_page_and_nothing_is_checked(client, shopper, password, limits):
    limits("login", "1/m")
    client.post(reverse("login"), {"username": shopper.email, "password": "wrong"})

    response = client.post(reverse("login"), {"username": shopper.email, "password": password})

    assert response.status_code == 429
    assert b"Too many attempts" in response.content
    assert b"<html" in response.content
    assert "_auth_user_id" not in client.session  # the right password did not log in either


def test_log_in_is_also_limited_per_account_whatever_the_address(client, shopper, settings, limits):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login": [("ip", "100/m"), ("post:username", "2/m")]}
    for address in ("10.0.0.1", "10.0.0.2"):
        client.post(reverse("login"), {"username": shopper.email, "password": "wrong"}, REMOTE_ADDR=address)

    other_account = client.post(reverse("login"), {"username": "someone@example.com", "password": "x"},
                                REMOTE_ADDR="10.0.0.3")
    same_account = client.post(reverse("login"), {"username": shopper.email, "password": "x"},
                               REMOTE_ADDR="10.0.0.3")

    assert other_account.status_code == 200
    assert same_account.status_code == 429


def test_shoppers_are_counted_separately(client, shopper, limits):
    from tests.factories import UserFactory

    limits("orders:cart_add", "1/m", key="user_or_ip")
    client.force_login(shopper)
    client.post(reverse("orders:cart_add"), {})
    client.force_login(UserFactory())

    response = client.post(reverse("orders:cart_add"), {})

    assert response.status_code != 429


def test_htmx_requests_get_the_message_fragment(client, shopper, limits):
    limits("orders:cart_add", "1/m")
    client.force_login(shopper)
    client.post(reverse("orders:cart_add"), {}, headers={"HX-Request": "true"})

    response = client.post(reverse("orders:cart_add"), {}, headers={"HX-Request": "true"})

    assert response.status_code == 429
    assert b"Too many attempts" in response.content
    assert b"<html" not in response.content


def test_the_webhook_gets_plain_text(client, db, limits):
    limits("webhooks:stripe", "1/m")
    client.post(reverse("webhooks:stripe"), b"{}", content_type="application/json")

    response = client.post(reverse("webhooks:stripe"), b"{}", content_type="application/json")

    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/plain")


def test_reading_pages_is_never_limited(client, db, limits):
    limits("login", "1/m")

    statuses = {client.get(reverse("login")).status_code for _ in range(3)}

    assert statuses == {200}


@pytest.fixture
def counters_unreachable(settings, limits):
    """The rate-limit counters' Redis refuses connections (nothing listens on port 1)."""
    settings.CACHES = {**settings.CACHES, "ratelimit": {
        "BACKEND": "ops.cache.RateLimitCache", "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25}}}
    return limits


@pytest.mark.parametrize("view_name", ["points:start", "orders:cart_add", "orders:pay_with_points",
                                       "orders:pay_by_card", "webhooks:stripe"])
def test_shoppers_flows_and_the_webhook_fail_open_when_the_counters_are_unreachable(
        client, shopper, counters_unreachable, view_name, caplog):
    client.force_login(shopper)
    counters_unreachable(view_name, "1/m")
    url = reverse(view_name, args=SAMPLE_ARGS.get(view_name, []))

    statuses = [client.post(url, {}).status_code for _ in range(3)]

    assert 429 not in statuses and 500 not in statuses
    assert f"rate_limit_unavailable view={view_name}" in caplog.text


@pytest.mark.parametrize("view_name", ["login", "signup"])
def test_log_in_and_sign_up_count_per_process_when_the_counters_are_unreachable(client, db, counters_unreachable,
                                                                                view_name):
    counters_unreachable(view_name, "2/m")
    form = {"username": "guess@example.com", "password": "guess"} if view_name == "login" else {}

    statuses = [client.post(reverse(view_name), form).status_code for _ in range(3)]

    assert statuses[:2] != [429, 429] and statuses[2] == 429


@pytest.mark.parametrize("proxies, forwarded, expected", [
    (0, "1.1.1.1", "10.0.0.9"),
    (1, "6.6.6.6, 2.2.2.2", "2.2.2.2"),
    (2, "6.6.6.6, 2.2.2.2, 10.0.0.5", "2.2.2.2"),
    (1, "", "10.0.0.9"),
])
def test_the_client_address_trusts_only_the_configured_proxies(settings, proxies, forwarded, expected):
    settings.RATELIMIT_TRUSTED_PROXIES = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected


def test_a_counted_webhook_costs_two_redis_round_trips_and_every_counter_expires(client, db, limits, monkeypatch,
                                                                                  settings):
    limits("webhooks:stripe", "1000/d")  # one window for the whole test
    url = reverse("webhooks:stripe")
    client.post(url, b"{}", content_type="application/json")  # the window's first request makes the counter
    client.post(url, b"{}", content_type="application/json")  # and the script is known to Redis
    commands = []
    execute = redis.Redis.execute_command

    def counting(self, *args, **options):
        commands.append(args[0])
        return execute(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counting)
    statuses = {client.post(url, b"{}", content_type="application/json").status_code for _ in range(3)}

    assert statuses == {400}  # counted, then refused by the webhook as unsigned
    assert commands == ["SET", "EVALSHA"] * 3  # add (the counter exists: not set), then the increment
    counters = caches["ratelimit"]._cache.get_client(write=True)
    [key] = counters.keys(f"*{settings.RATELIMIT_CACHE_PREFIX}*")
    assert int(counters.get(key)) == 5
    assert 0 < counters.ttl(key) <= 24 * 3600 + 60


def test_incrementing_a_counter_that_is_gone_fails_and_makes_nothing(db):
    counters = caches["ratelimit"]
    key = f"rl-test-{uuid.uuid4().hex}"

    with pytest.raises(ValueError):
        counters.incr(key)

    redis_client = counters._cache.get_client(write=True)
    assert redis_client.exists(counters.make_key(key)) == 0  # not made again without a timeout
    assert counters.add(key, 1, 60) and counters.incr(key, 2) == 3
    assert 0 < redis_client.ttl(counters.make_key(key)) <= 60
