"""Stripe failing while a card checkout opens its payment page: the order is cancelled and its reserved copies
go back on sale at once (not at the session's expiry), the cart is intact, and trying again works."""

import uuid

import pytest
from django.urls import reverse

from checkout.models import CheckoutSession
from orders.models import CartItem, Order, OrderStatus
from shop.models import Product
from stripe_fake import transport

HTMX = {"HX-Request": "true"}
CREATE = "/v1/checkout/sessions"


def _refuse_creates(monkeypatch):
    """Stripe answers 400 to every session create (a refusal: parameters it will not take)."""
    handle = transport.api.handle

    def refusing(method, path, params, idempotency_key=None):
        if method == "post" and path == CREATE:
            return 400, {"error": {"type": "invalid_request_error", "message": "Fake refusal."}}
        return handle(method, path, params, idempotency_key=idempotency_key)

    monkeypatch.setattr(transport.api, "handle", refusing)


@pytest.mark.parametrize("fault", ["server_error", "connection", "lost_response", "refusal"])
def test_a_failed_stripe_call_releases_the_reservation_at_once_and_keeps_the_cart(
        shopper_client, filled_cart, two_pictures, fake_stripe, monkeypatch, fault):
    limited = two_pictures[1]  # 3 in stock, 1 in the cart
    if fault == "refusal":
        _refuse_creates(monkeypatch)
    else:
        fake_stripe.fail(fault, method="post", path=CREATE, times=10)  # more than stripe-python's retries

    response = shopper_client.post(reverse("orders:pay_by_card"), {"checkout_token": str(uuid.uuid4())},
                                   headers=HTMX)

    assert response.status_code == 200 and b"Your cart is unchanged" in response.content
    order = Order.objects.get()
    assert order.status == OrderStatus.CANCELLED
    assert "went back on sale" in order.status_changes.last().reason
    assert Product.objects.get(pk=limited.pk).stock == 3
    session = CheckoutSession.objects.get()
    assert session.status == CheckoutSession.Status.INVALIDATED
    assert "Stripe" in session.status_changes.last().note  # could not open the page, or refused the session
    assert sorted(CartItem.objects.filter(user=filled_cart).values_list("product_id", flat=True)) == sorted(
        [two_pictures[0].pk, limited.pk])

    # when Stripe answers again, the shopper's retry (a fresh form) opens a payment page for a new order
    fake_stripe.reset()
    monkeypatch.undo()
    retry = shopper_client.post(reverse("orders:pay_by_card"), {"checkout_token": str(uuid.uuid4())},
                                headers=HTMX)
    assert retry["HX-Redirect"].startswith("http")
    assert Order.objects.filter(status=OrderStatus.PENDING).count() == 1
    assert Product.objects.get(pk=limited.pk).stock == 2


def test_a_failed_stripe_call_without_htmx_redirects_to_the_cart_with_the_message(
        shopper_client, filled_cart, two_pictures, fake_stripe):
    fake_stripe.fail("server_error", method="post", path=CREATE, times=10)

    response = shopper_client.post(reverse("orders:pay_by_card"), {"checkout_token": str(uuid.uuid4())},
                                   follow=True)

    assert response.redirect_chain[-1][0] == reverse("orders:cart")
    assert b"having trouble right now" in response.content
    assert Product.objects.get(pk=two_pictures[1].pk).stock == 3
