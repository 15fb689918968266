"""Stripe failing, against real processes: gunicorn (and a Celery worker) talking to the fake Stripe over HTTP
with stripe-python's production client, the fake answering 500 or never answering.

- Stripe answering 500, or timing out, when a card checkout opens its payment page: the shopper hears so within
  the web request's bounded worst case, the order is cancelled and its reserved copies are back on sale at once,
  the cart is intact, and a retry once Stripe is back opens a payment page.
- A flood of "check again": the rate limit answers 429 to most, the web processes queue one check for the
  worker, and Stripe is asked once; the page then shows the payment.
"""

import re
import time

import pytest
import requests
from django.conf import settings
from django.test import Client

from checkout.models import CheckoutSession
from orders.models import CartItem, Order, OrderStatus
from orders.services.cart import cart_add
from shop.models import Product
from stripe_fake import hosted
from stripe_fake.server import FakeStripeServer
from tests.factories import PointsPackageFactory, ProductFactory, UserFactory
from tests.faults.conftest import CeleryWorker, Gunicorn
from tests.payments import paying_session
from tests.processes import wait_for
from wallet.models import LedgerEntry

TIMEOUT_SECONDS = 1
WEB_RETRIES = 1
CREATE = "/v1/checkout/sessions"
# stripe-python's worst case for one call from a web request: every attempt times out, with its backoff between.
WEB_WORST_CASE = TIMEOUT_SECONDS * (WEB_RETRIES + 1) + 0.5


def _signed_in(user) -> requests.Session:
    """A browser session for ``user`` against the live shop (the session row is in PostgreSQL, shared)."""
    client = Client()
    client.force_login(user)
    browser = requests.Session()
    browser.cookies.set(settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value)
    return browser


def _csrf(browser, base: str, path: str) -> tuple[str, str]:
    page = browser.get(base + path, timeout=10)
    assert page.status_code == 200, page.text[:500]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return token, page.text


def _card_form(browser, base: str) -> dict:
    csrf, html = _csrf(browser, base, "/cart/")
    form = re.search(r'action="/cart/pay/card/".*?name="checkout_token" value="([^"]+)"', html, re.S)
    return {"csrfmiddlewaretoken": csrf, "checkout_token": form.group(1)}


@pytest.fixture
def stripe_over_http(transactional_db, held_webhooks):
    with FakeStripeServer(lost_response_seconds=TIMEOUT_SECONDS + 2) as server:
        yield server


def _process_env(server, **extra) -> dict:
    return {"DJANGO_SETTINGS_MODULE": "tests.faults.stripe_over_http_settings",
            "FAULT_TEST_STRIPE_API_BASE": server.base_url,
            "STRIPE_WEB_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS), "STRIPE_WEB_MAX_NETWORK_RETRIES": str(WEB_RETRIES),
            "STRIPE_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS), "STRIPE_MAX_NETWORK_RETRIES": "2", **extra}


@pytest.mark.parametrize("fault", ["server_error", "lost_response"])
def test_stripe_failing_at_checkout_start_releases_the_stock_and_keeps_the_cart(stripe_over_http, tmp_path,
                                                                                 fake_stripe, fault):
    server = stripe_over_http
    shop = Gunicorn(tmp_path, env=_process_env(server))
    try:
        shopper, edition = UserFactory(), ProductFactory(title="Last Light", stock=3)
        cart_add(user=shopper, product_id=edition.pk)
        browser = _signed_in(shopper)
        fake_stripe.fail(fault, method="post", path=CREATE, times=10)

        started = time.monotonic()
        answer = browser.post(f"{shop.base}/cart/pay/card/", data=_card_form(browser, shop.base),
                              headers={"HX-Request": "true"}, timeout=30)
        took = time.monotonic() - started

        assert answer.status_code == 200 and "Your cart is unchanged" in answer.text
        # the request waited at most the web bounds' worst case (every attempt timing out), plus some slack
        assert took < WEB_WORST_CASE + 3, took
        assert [seen.path for seen in server.requests].count(CREATE) == WEB_RETRIES + 1
        order = Order.objects.get(user=shopper)
        assert order.status == OrderStatus.CANCELLED
        assert Product.objects.get(pk=edition.pk).stock == 3  # back on sale now, not after 24 hours
        assert CheckoutSession.objects.get(user=shopper).status == CheckoutSession.Status.INVALIDATED
        assert list(CartItem.objects.filter(user=shopper).values_list("product_id", flat=True)) == [edition.pk]

        # when Stripe answers again, the shopper's retry opens a payment page
        fake_stripe.reset()
        retry = browser.post(f"{shop.base}/cart/pay/card/", data=_card_form(browser, shop.base),
                             headers={"HX-Request": "true"}, timeout=30)
        assert retry.status_code == 200 and "/demo-stripe/" in retry.headers["HX-Redirect"]
        assert Product.objects.get(pk=edition.pk).stock == 2
    finally:
        shop.stop()


def test_a_check_again_flood_is_refused_429_and_asks_stripe_once(stripe_over_http, throwaway_redis, tmp_path,
                                                                  fake_stripe):
    server = stripe_over_http
    env = _process_env(server, REDIS_URL=f"{throwaway_redis.url}/0", CELERY_BROKER_URL=f"{throwaway_redis.url}/1",
                       RATELIMIT_ENABLE="true", RATE_LIMIT_CHECK_AGAIN="6/m")
    # the shopper paid at Stripe, and the webhook was lost (held): only a check can find the payment
    shopper = UserFactory()
    session = paying_session(shopper, PointsPackageFactory(points=550, price_cents=3999))
    hosted.pay(session.stripe_session_id)
    shop, worker = Gunicorn(tmp_path, env=env), CeleryWorker(tmp_path, env)
    try:
        browser = _signed_in(shopper)
        csrf, _html = _csrf(browser, shop.base, f"/checkout/{session.pk}/result/")
        server.requests.clear()

        statuses = [browser.post(f"{shop.base}/checkout/{session.pk}/check/", data={"csrfmiddlewaretoken": csrf},
                                 headers={"HX-Request": "true"}, timeout=10).status_code for _ in range(30)]

        assert statuses.count(429) == 24 and statuses.count(200) == 6, statuses
        wait_for(lambda: LedgerEntry.objects.filter(wallet__user=shopper).exists(), timeout=60,
                 what=lambda: f"the worker's check to credit the points\n{worker.log()}")
        time.sleep(1)  # anything else a duplicate check would still ask
        asked = [seen for seen in server.requests if seen.path.startswith("/v1/")]
        assert [(seen.method, seen.path) for seen in asked] == [
            ("get", f"/v1/checkout/sessions/{session.stripe_session_id}")]
        polled = browser.get(f"{shop.base}/checkout/{session.pk}/result/", headers={"HX-Request": "true"},
                             timeout=10)
        assert polled.status_code == 286 and "Payment received" in polled.text
    finally:
        worker.stop()
        shop.stop()
