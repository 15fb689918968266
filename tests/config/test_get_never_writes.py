"""GET requests only read: every shopper page, in every state that used to tempt a write (an expired checkout
that paying will recover, a checkout replaced in another tab, a pending card order), runs no INSERT, UPDATE or
DELETE.

The one GET that writes by design is ``orders:payment_left``, the cancel link of Stripe's payment page (Stripe
sends the shopper back with a GET, and leaving the page ends the order at once): its own tests are in
``tests/orders/test_leaving_the_payment_page.py``."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from checkout.models import CheckoutSession
from orders.services.card import order_checkout_start
from orders.services.cart import cart_add
from orders.services.placement import order_pay_with_points
from tests.factories import PointsPackageFactory, ProductFactory, give_points
from wallet.services import points_purchase_start

WRITES = ("insert ", "update ", "delete ")


def _writes(queries) -> list[str]:
    return [query["sql"] for query in queries if query["sql"].lstrip().lower().startswith(WRITES)]


@pytest.fixture
def world(shopper):
    """A shopper with points, a paid order, a pending card order, and checkouts in every state."""
    give_points(shopper, 5000)
    product, other = ProductFactory(stock=10), ProductFactory(stock=10)
    cart_add(user=shopper, product_id=product.pk)
    paid = order_pay_with_points(user=shopper, idempotency_key="get-test-paid")
    cart_add(user=shopper, product_id=other.pk)
    pending = order_checkout_start(user=shopper, idempotency_key="get-test-card").order
    premium, basic = PointsPackageFactory(name="Premium"), PointsPackageFactory(name="Basic")
    replaced = points_purchase_start(user=shopper, package=basic).session
    current = points_purchase_start(user=shopper, package=premium).session
    changed = CheckoutSession.objects.get(pk=replaced.pk)
    basic.price_cents += 100
    basic.save()
    return {"product": product, "other": other, "paid": paid, "pending": pending, "current": current,
            "changed": changed}


def _pages(world) -> list[str]:
    current, changed = world["current"], world["changed"]
    return [
        reverse("shop:catalog"), reverse("shop:product", args=[world["product"].slug]), reverse("shop:packages"),
        reverse("shop:product", args=[world["other"].slug]), reverse("orders:library"),
        reverse("orders:list") + "?attempts=1",
        reverse("wallet:home"), reverse("wallet:balance"), reverse("orders:cart"), reverse("orders:cart_badge"),
        reverse("orders:list"), reverse("orders:detail", args=[world["paid"].pk]),
        reverse("orders:detail", args=[world["pending"].pk]), reverse("points:choose"),
        reverse("points:review", args=[current.pk]), reverse("points:result", args=[current.pk]),
        reverse("points:review", args=[changed.pk]), reverse("points:changed", args=[changed.pk]),
        reverse("healthz"),
    ]


def test_no_get_writes_to_the_database(shopper_client, world):
    for url in _pages(world):
        with CaptureQueriesContext(connection) as queries:
            response = shopper_client.get(url)
        assert response.status_code in (200, 302), url
        assert _writes(queries.captured_queries) == [], url


def test_no_get_writes_even_once_the_checkouts_are_overdue(shopper_client, world):
    # the current checkout expired without the cleanup having marked it: looking must not mark or renew it
    with time_machine.travel(world["current"].expires_at + timedelta(minutes=5)):
        for url in _pages(world):
            with CaptureQueriesContext(connection) as queries:
                response = shopper_client.get(url)
            assert response.status_code in (200, 302), url
            assert _writes(queries.captured_queries) == [], url
    assert CheckoutSession.objects.get(pk=world["current"].pk).status == "active"
