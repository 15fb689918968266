"""Cart -> pending card order (stock reserved) -> demo Stripe page -> signed webhook -> completed order."""

import uuid

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from checkout.models import CheckoutSession, Refund
from checkout.tasks import checkout_sessions_mark_expired, checkout_sessions_purge, submit_refund
from orders.models import CartItem, Order, OrderStatus
from orders.services.card import order_checkout_start, order_refund_unfulfillable
from shop.models import Product
from stripe_fake.models import FakeStripeObject
from stripe_fake.transport import FakeStripeHTTPClient
from tests.factories import PointsPackageFactory
from tests.stripe_events import post_event
from wallet.models import LedgerEntry
from wallet.services import points_purchase_start

HTMX = {"HX-Request": "true"}


def pay_by_card(client, token=None):
    return client.post(reverse("orders:pay_by_card"), {"checkout_token": token or str(uuid.uuid4())})


@pytest.fixture
def press(shopper_client, django_capture_on_commit_callbacks):
    """Press a button on the demo Stripe page; its events go out after commit, as in production."""
    def press(session, action):
        with django_capture_on_commit_callbacks(execute=True):
            return shopper_client.post(session.stripe_checkout_url, {"action": action})
    return press


def stock_of(product):
    return Product.objects.get(pk=product.pk).stock


def test_paying_a_cart_by_card_end_to_end(press, shopper_client, filled_cart, two_pictures, webhooks):
    limited = two_pictures[1]  # 3 in stock, 1 in the cart

    # when: the shopper pays by card
    response = pay_by_card(shopper_client)

    # then: a pending order holds the copies while the shopper is on Stripe's page
    order = Order.objects.get()
    session = order.checkout_session
    assert (order.status, order.payment_method, order.total_cents) == ("pending", "stripe", 499 + 299)
    assert (session.kind, session.status, session.amount_cents) == ("cart", "active", order.total_cents)
    assert response.status_code == 302 and response["Location"] == session.stripe_checkout_url
    assert stock_of(limited) == 2
    assert CartItem.objects.filter(user=filled_cart).count() == 2
    pending_page = shopper_client.get(reverse("orders:detail", args=[order.pk]))
    assert b"Not paid yet" in pending_page.content and b"to be paid by card" in pending_page.content and b"Continue to payment" in pending_page.content

    # when: they press Pay on the demo Stripe page
    paid = press(session, "pay")

    # then: back on the order page, completed once, cart cleared, stock committed, no points moved
    assert paid["Location"].endswith(reverse("orders:detail", args=[order.pk]))
    assert webhooks == [("checkout.session.completed", 200)]
    order.refresh_from_db()
    assert order.status == "completed" and order.fulfilled_at and order.stripe_payment_intent_id.startswith("pi_")
    assert not CartItem.objects.filter(user=filled_cart).exists()
    assert stock_of(limited) == 2
    assert not LedgerEntry.objects.exists()
    final = shopper_client.get(reverse("orders:detail", args=[order.pk]), headers=HTMX)
    assert final.status_code == 286 and b"Download Desert Bloom" in final.content


def test_replayed_completion_events_fulfil_once(press, shopper_client, filled_cart, held_webhooks, client,
                                                django_capture_on_commit_callbacks):
    pay_by_card(shopper_client)
    session = CheckoutSession.objects.get(kind="cart")
    press(session, "pay")
    completed = [event for event in held_webhooks if event["type"] == "checkout.session.completed"]

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        statuses = [post_event(client, completed[0]).status_code for _ in range(5)]

    assert statuses == [200] * 5
    order = Order.objects.get()
    assert order.status == "completed"
    assert [c.to_status for c in order.status_changes.all()] == ["pending", "completed"]
    assert len(callbacks) == 1  # one confirmation email queued


def test_a_double_submit_continues_the_same_checkout(shopper_client, filled_cart):
    token = str(uuid.uuid4())

    first = pay_by_card(shopper_client, token)
    second = pay_by_card(shopper_client, token)

    assert first["Location"] == second["Location"]
    assert Order.objects.count() == 1 and CheckoutSession.objects.count() == 1


def test_starting_again_cancels_the_old_order_and_frees_its_reservation(shopper, filled_cart, two_pictures):
    limited = two_pictures[1]  # 3 in stock; the cart wants 1
    first = order_checkout_start(user=shopper, idempotency_key="one")
    assert stock_of(limited) == 2

    second = order_checkout_start(user=shopper, idempotency_key="two")

    first.refresh_from_db()
    assert first.status == "invalidated" and first.replaced_by == second
    assert Order.objects.get(checkout_session=first).status == OrderStatus.CANCELLED
    assert Order.objects.get(checkout_session=second).status == OrderStatus.PENDING
    assert stock_of(limited) == 2  # the new order holds the same copy, not two


def test_choosing_a_points_package_ends_a_card_checkout_and_its_reservation(shopper, filled_cart, two_pictures):
    order_checkout_start(user=shopper, idempotency_key="one")

    points_purchase_start(user=shopper, package=PointsPackageFactory())

    assert Order.objects.get().status == OrderStatus.CANCELLED
    assert stock_of(two_pictures[1]) == 3


def test_expiry_releases_the_reservation_and_keeps_the_cart(shopper, filled_cart, two_pictures):
    order_checkout_start(user=shopper, idempotency_key="one")

    with time_machine.travel(timezone.now() + timezone.timedelta(hours=25)):
        checkout_sessions_mark_expired()

    order = Order.objects.get()
    assert order.status == OrderStatus.CANCELLED
    assert "went back on sale" in order.status_changes.last().reason
    assert stock_of(two_pictures[1]) == 3
    assert CartItem.objects.filter(user=shopper).count() == 2


def test_a_purged_session_releases_its_order_too(shopper, filled_cart, two_pictures):
    session = order_checkout_start(user=shopper, idempotency_key="one")
    CheckoutSession.objects.filter(pk=session.pk).update(status="expired")  # expired without our hook: a crash

    with time_machine.travel(timezone.now() + timezone.timedelta(days=8)):
        checkout_sessions_purge()

    assert not CheckoutSession.objects.exists()
    assert Order.objects.get().status == OrderStatus.CANCELLED
    assert stock_of(two_pictures[1]) == 3


def test_a_bank_refusal_fails_the_order_and_releases_stock(press, shopper_client, shopper, filled_cart, two_pictures,
                                                           client, held_webhooks):
    pay_by_card(shopper_client)
    session = CheckoutSession.objects.get()
    press(session, "pay_later")
    for event in held_webhooks:
        post_event(client, event)
    assert Order.objects.get().status == "pending"
    held_webhooks.clear()

    press(session, "bounce")
    for event in held_webhooks:
        post_event(client, event)

    order = Order.objects.get()
    assert order.status == OrderStatus.FAILED
    assert stock_of(two_pictures[1]) == 3
    page = shopper_client.get(reverse("orders:detail", args=[order.pk]))
    assert b"did not go through" in page.content


def test_the_shopper_can_cancel_a_pending_card_order(shopper_client, filled_cart, two_pictures):
    pay_by_card(shopper_client)
    order = Order.objects.get()

    response = shopper_client.post(reverse("orders:cancel", args=[order.pk]), follow=True)

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and order.checkout_session.status == "invalidated"
    assert stock_of(two_pictures[1]) == 3
    assert b"still in your cart" in response.content


def test_a_payment_arriving_after_the_reservation_ended_is_honoured_when_stock_allows(press,
        shopper_client, filled_cart, two_pictures, client, held_webhooks):
    pay_by_card(shopper_client)
    session = CheckoutSession.objects.get()
    press(session, "pay")
    shopper_client.post(reverse("orders:cancel", args=[Order.objects.get().pk]))  # ended before the webhook
    assert Order.objects.get().status == "cancelled"

    for event in held_webhooks:
        post_event(client, event)

    order = Order.objects.get()
    assert order.status == OrderStatus.COMPLETED
    assert stock_of(two_pictures[1]) == 2


def test_a_late_payment_for_sold_out_copies_is_refunded_not_oversold(press,
        shopper_client, filled_cart, two_pictures, client, held_webhooks, django_capture_on_commit_callbacks):
    pay_by_card(shopper_client)
    session = CheckoutSession.objects.get()
    press(session, "pay")
    shopper_client.post(reverse("orders:cancel", args=[Order.objects.get().pk]))
    Product.objects.filter(pk=two_pictures[1].pk).update(stock=0)  # someone bought the last copies meanwhile

    with django_capture_on_commit_callbacks() as queued:
        for event in held_webhooks:
            post_event(client, event)

    # then: the order stays cancelled, its copies unsold, and a full refund is recorded, not yet sent
    order = Order.objects.get()
    assert order.status == OrderStatus.CANCELLED
    assert stock_of(two_pictures[1]) == 0
    assert "Refunding in full" in order.status_changes.last().reason
    [refund] = Refund.objects.filter(session=session)
    assert (refund.status, refund.amount_cents, refund.idempotency_key) == (
        "requested", session.amount_cents, f"order:{order.pk}:unfulfillable")
    assert len(queued) == 1  # the task that sends it, queued after commit (Stripe is never called under a lock)
    with django_capture_on_commit_callbacks(execute=True):
        submit_refund(str(refund.pk))  # what the task runs
    submit_refund(str(refund.pk))  # a task delivered twice: the refund is no longer "requested", nothing is sent
    order_refund_unfulfillable(order_id=order.pk)  # a task queued by an older version: the same refund, once
    assert [path for _, path in FakeStripeHTTPClient.requests_seen].count("/v1/refunds") == 1
    assert len(FakeStripeObject.objects.filter(kind="refund")) == 1

    # and: Stripe's charge.refunded marks the order refunded
    [refunded] = [event for event in held_webhooks if event["type"] == "charge.refunded"]
    post_event(client, refunded)
    assert Order.objects.get().status == OrderStatus.REFUNDED


def test_stripe_down_when_paying_leaves_a_clear_message_and_a_retry(shopper_client, filled_cart, two_pictures):
    FakeStripeHTTPClient.fail("server_error", method="post", path="/v1/checkout/sessions", times=10)

    response = shopper_client.post(reverse("orders:pay_by_card"), {"checkout_token": str(uuid.uuid4())},
                                   headers=HTMX)

    assert response.status_code == 200
    assert b"Your cart is unchanged" in response.content
    assert CartItem.objects.filter(user=filled_cart).count() == 2


def test_other_shoppers_cannot_cancel_or_see_a_card_order(client, shopper_client, filled_cart):
    from tests.factories import UserFactory

    pay_by_card(shopper_client)
    order = Order.objects.get()
    client.force_login(UserFactory())

    assert client.post(reverse("orders:cancel", args=[order.pk])).status_code == 404
    assert client.get(reverse("orders:detail", args=[order.pk])).status_code == 404
    assert Order.objects.get().status == "pending"


def test_htmx_pay_by_card_redirects_the_browser_to_stripe(shopper_client, filled_cart):
    response = shopper_client.post(reverse("orders:pay_by_card"), {"checkout_token": str(uuid.uuid4())},
                                   headers=HTMX)

    assert response["HX-Redirect"] == CheckoutSession.objects.get().stripe_checkout_url
