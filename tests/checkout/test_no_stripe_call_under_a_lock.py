"""Stripe is never called while a row lock is held: every request through the transport happens outside any
transaction, along every path that talks to Stripe (paying, reconciling, cancelling, refunds of every kind)."""

import uuid

import pytest
from django.db import connection
from django.urls import reverse

from checkout.models import CheckoutSession, Refund
from checkout.services import checkout_session_reconcile, checkout_session_refund
from checkout.tasks import check_with_stripe, submit_refund
from orders.models import Order
from orders.services.refunds import order_refund_stripe
from stripe_fake import hosted
from stripe_fake.transport import FakeStripeHTTPClient
from stripe_fake.models import FakeStripeObject
from tests.factories import ProductFactory, StaffFactory, UserFactory, give_points
from tests.payments import pay_points_checkout
from wallet.services import points_purchase_start


@pytest.fixture
def stripe_calls(monkeypatch):
    """(method, path, inside a transaction?) for every request the shop makes to Stripe."""
    calls = []
    request = FakeStripeHTTPClient.request

    def watched(self, method, url, headers, post_data=None, **kwargs):
        calls.append((method, url.split("stripe.com", 1)[-1].split("?")[0], connection.in_atomic_block))
        return request(self, method, url, headers, post_data, **kwargs)

    monkeypatch.setattr(FakeStripeHTTPClient, "request", watched)
    return calls


@pytest.mark.django_db(transaction=True)
def test_no_path_calls_stripe_inside_a_transaction(stripe_calls, webhooks, package):
    shopper, staff = UserFactory(), StaffFactory()
    client = _signed_in(shopper)

    # a points package: paid, reconciled, refunded by staff
    session = points_purchase_start(user=shopper, package=package).session
    pay_points_checkout(session_id=session.pk, user=shopper)
    session.refresh_from_db()
    hosted.pay(session.stripe_session_id)
    checkout_session_reconcile(session=CheckoutSession.objects.get(pk=session.pk))
    checkout_session_refund(session_id=session.pk, staff_user=staff, reason="Bought by mistake")

    # a card order: paid through the pages, refunded in part by staff; another one cancelled before paying
    ProductFactory(stock=5)
    product = ProductFactory()
    client.post(reverse("orders:cart_add"), {"product_id": product.pk})
    paying = client.post(reverse("orders:pay_by_card"), {"checkout_token": str(uuid.uuid4())})
    hosted.pay(paying["Location"].rstrip("/").rsplit("/", 1)[-1])
    order = Order.objects.get(user=shopper, status="completed")
    order_refund_stripe(order_id=order.pk, staff_user=staff, reason="One file was broken", cents=100)
    product = ProductFactory()  # the first one is the shopper's now: a digital good is bought once
    client.post(reverse("orders:cart_add"), {"product_id": product.pk})
    client.post(reverse("orders:pay_by_card"), {"checkout_token": str(uuid.uuid4())})
    client.post(reverse("orders:cancel", args=[Order.objects.get(user=shopper, status="pending").pk]))
    # a card checkout ended by paying the same cart with points (its Stripe session expired after commit)
    give_points(shopper, 1000)
    client.post(reverse("orders:pay_by_card"), {"checkout_token": str(uuid.uuid4())})
    card_session = Order.objects.get(user=shopper, status="pending").checkout_session
    client.post(reverse("orders:pay_with_points"), {"checkout_token": str(uuid.uuid4())})
    assert FakeStripeObject.objects.get(pk=card_session.stripe_session_id).data["status"] == "expired"

    # a refund sent by the task that sends refunds recorded elsewhere
    submit_refund(str(Refund.objects.order_by("created_at").first().pk))

    # a card checkout Stripe failed to open (released at once), another one, and its "check again" run by the task
    product = ProductFactory()  # the cart's earlier product was paid with points just above
    client.post(reverse("orders:cart_add"), {"product_id": product.pk})
    FakeStripeHTTPClient.fail("server_error", method="post", path="/v1/checkout/sessions", times=10)
    client.post(reverse("orders:pay_by_card"), {"checkout_token": str(uuid.uuid4())})
    FakeStripeHTTPClient.reset()
    client.post(reverse("orders:pay_by_card"), {"checkout_token": str(uuid.uuid4())})
    checking = Order.objects.get(user=shopper, status="pending")
    client.post(reverse("orders:check", args=[checking.pk]))
    assert check_with_stripe.apply(args=[str(checking.checkout_session_id)]).get() == "pending"

    made = {(method, path) for method, path, _ in stripe_calls}
    assert {("post", "/v1/checkout/sessions"), ("post", "/v1/refunds")} <= made
    assert any(path.endswith("/expire") for _, path in made)  # the cancelled order's Stripe session
    assert any(method == "get" for method, _ in made)  # the reconcile
    assert [call for call in stripe_calls if call[2]] == []


def _signed_in(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client
