"""A card checkout holds limited copies while the shopper pays: at most RESERVATION_LIMIT_PER_SHOPPER of them."""

import uuid

from django.urls import reverse

from checkout.models import CheckoutSession
from orders.models import CartItem, Order
from orders.services.cart import cart_add
from shop.models import Product
from tests.factories import ProductFactory, give_points

HTMX = {"HX-Request": "true"}


def _pay_by_card(client, **kwargs):
    return client.post(reverse("orders:pay_by_card"), {"checkout_token": str(uuid.uuid4())}, **kwargs)


def test_a_cart_over_the_limit_is_refused_with_a_message_and_nothing_held(shopper_client, shopper, settings):
    settings.RESERVATION_LIMIT_PER_SHOPPER = 3
    editions = ProductFactory.create_batch(4, stock=10)
    for product in [*editions, *ProductFactory.create_batch(3)]:  # unlimited copies are never held from anyone
        cart_add(user=shopper, product_id=product.pk)

    response = _pay_by_card(shopper_client, headers=HTMX)

    assert response.status_code == 200
    assert b"at most 3 limited editions" in response.content and b"your cart has 4" in response.content
    assert not Order.objects.exists() and not CheckoutSession.objects.exists()
    assert list(Product.objects.filter(pk__in=[e.pk for e in editions]).values_list("stock", flat=True)) == [10] * 4
    assert CartItem.objects.filter(user=shopper).count() == 7


def test_a_cart_at_the_limit_checks_out_and_a_second_checkout_replaces_the_first(shopper_client, shopper, settings):
    settings.RESERVATION_LIMIT_PER_SHOPPER = 3
    editions = ProductFactory.create_batch(3, stock=10)
    for edition in editions:
        cart_add(user=shopper, product_id=edition.pk)

    def stocks():
        return list(Product.objects.filter(pk__in=[e.pk for e in editions]).values_list("stock", flat=True))

    assert _pay_by_card(shopper_client).status_code == 302
    assert stocks() == [9, 9, 9]
    # a second checkout of the same cart (another tab) ends the first: the shopper never holds 6
    assert _pay_by_card(shopper_client).status_code == 302
    assert stocks() == [9, 9, 9]
    assert Order.objects.filter(status="pending").count() == 1


def test_the_limit_does_not_apply_to_paying_with_points(shopper_client, shopper, settings):
    settings.RESERVATION_LIMIT_PER_SHOPPER = 1
    editions = ProductFactory.create_batch(4, stock=10, price_points=10)
    give_points(shopper, 100)
    for edition in editions:
        cart_add(user=shopper, product_id=edition.pk)

    response = shopper_client.post(reverse("orders:pay_with_points"), {"checkout_token": str(uuid.uuid4())})

    assert response.status_code == 302
    assert Order.objects.get().status == "completed"
    assert list(Product.objects.filter(pk__in=[e.pk for e in editions]).values_list("stock", flat=True)) == [9] * 4
