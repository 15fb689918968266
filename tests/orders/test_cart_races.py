"""A payment takes out of the cart only what its order bought: a line added in another tab while the payment
runs stays in the cart."""

import threading
import uuid

import pytest
from django.db import connection
from django.urls import reverse

from checkout.models import CheckoutSession
from orders.models import CartItem, Order, OrderStatus
from orders.services import placement
from orders.services.cart import cart_add
from orders.services.placement import order_pay_with_points
from tests.factories import ProductFactory, ShopperFactory
from tests.orders.test_card_orders import press  # noqa: F401 -- the fixture


@pytest.mark.django_db(transaction=True)
def test_a_line_added_in_another_tab_while_points_pay_is_kept(monkeypatch):
    shopper = ShopperFactory(points=1000)
    ordered, added_meanwhile = ProductFactory(price_points=300), ProductFactory(price_points=200)
    cart_add(user=shopper, product_id=ordered.pk)
    cart_rows_locked, go_on = threading.Event(), threading.Event()
    spend = placement.wallet_spend

    def spend_slowly(**kwargs):
        # The payment's transaction holds the cart's rows here; the other tab adds a product now.
        cart_rows_locked.set()
        assert go_on.wait(10)
        return spend(**kwargs)

    monkeypatch.setattr(placement, "wallet_spend", spend_slowly)
    outcome = []

    def pay():
        try:
            outcome.append(order_pay_with_points(user=shopper, idempotency_key=f"race:{uuid.uuid4()}"))
        finally:
            connection.close()

    paying = threading.Thread(target=pay)
    paying.start()
    try:
        assert cart_rows_locked.wait(10)
        # the other tab, on a connection of its own, commits its line while the payment is still open
        adder = threading.Thread(target=lambda: (cart_add(user=shopper, product_id=added_meanwhile.pk),
                                                 connection.close()))
        adder.start()
        adder.join(10)
        assert not adder.is_alive(), "adding another product must not wait for the payment"
        assert CartItem.objects.filter(user=shopper, product=added_meanwhile).exists()
    finally:
        go_on.set()
        paying.join(10)

    [order] = outcome
    assert order.status == OrderStatus.COMPLETED and order.total_points == 300
    assert list(CartItem.objects.filter(user=shopper).values_list("product_id", flat=True)) == [added_meanwhile.pk]


def test_a_card_payment_takes_out_only_what_its_order_bought(shopper_client, shopper, press, webhooks):
    ordered, added_later = ProductFactory(stock=5), ProductFactory()
    cart_add(user=shopper, product_id=ordered.pk)
    shopper_client.post(reverse("orders:pay_by_card"), {"checkout_token": str(uuid.uuid4())})
    # while the shopper is at Stripe's page, another tab adds a product
    cart_add(user=shopper, product_id=added_later.pk)

    press(CheckoutSession.objects.get(), "pay")

    assert Order.objects.get().status == OrderStatus.COMPLETED
    assert list(CartItem.objects.filter(user=shopper).values_list("product_id", flat=True)) == [added_later.pk]
