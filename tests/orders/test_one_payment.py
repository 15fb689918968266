"""One order, one payment: the card and points forms carry tokens of their own, paying with points ends the cart's
card checkout, the database refuses a second payment for an order, and a card payment that still arrives for
items already paid is refunded automatically and shown to staff. Also: a bank debit that settles days after its
card checkout ended still fulfils the order."""

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from checkout.models import CheckoutSession, Refund
from checkout.tasks import checkout_sessions_mark_expired, checkout_sessions_purge, submit_refund
from orders.errors import CheckoutFormUsed
from orders.models import CartItem, Order, OrderPayment, OrderStatus
from orders.services.card import order_checkout_start
from orders.services.placement import order_pay_with_points
from orders.services.status import order_transition
from shop.models import Product
from stripe_fake import hosted
from stripe_fake.models import FakeStripeObject
from tests.factories import give_points
from tests.stripe_events import post_event
from wallet.selectors import wallet_balance

HTMX = {"HX-Request": "true"}
CART_CENTS, CART_POINTS = 499 + 299, 450 + 280


def stock_of(product):
    return Product.objects.get(pk=product.pk).stock


def cart_page_tokens(client) -> tuple[str, str]:
    context = client.get(reverse("orders:cart")).context
    return str(context["points_checkout_token"]), str(context["card_checkout_token"])


def stripe_status(session) -> str:
    return FakeStripeObject.objects.get(pk=session.stripe_session_id).data["status"]


# --- tokens ------------------------------------------------------------------------------------------------------

def test_the_card_and_points_forms_carry_tokens_of_their_own(shopper_client, filled_cart):
    give_points(filled_cart, 2000)
    page = shopper_client.get(reverse("orders:cart"))
    points_token, card_token = str(page.context["points_checkout_token"]), str(page.context["card_checkout_token"])
    html = page.content.decode()

    assert points_token != card_token
    assert html.count(f'name="checkout_token" value="{points_token}"') == 1
    assert html.count(f'name="checkout_token" value="{card_token}"') == 1


def test_a_token_that_placed_a_card_order_cannot_pay_it_with_points(shopper, filled_cart):
    give_points(shopper, 2000)
    order_checkout_start(user=shopper, idempotency_key="the-same-token")

    with pytest.raises(CheckoutFormUsed):
        order_pay_with_points(user=shopper, idempotency_key="the-same-token")

    assert Order.objects.get().status == OrderStatus.PENDING
    assert wallet_balance(user=shopper).current == 2000 and not OrderPayment.objects.exists()


# --- card, Back, points ----------------------------------------------------------------------------------------------

def test_card_then_back_then_points_pays_once_and_the_late_card_payment_is_refunded(
        shopper_client, filled_cart, two_pictures, client, held_webhooks, django_capture_on_commit_callbacks):
    give_points(filled_cart, 2000)
    limited = two_pictures[1]  # 3 in stock, 1 in the cart
    points_token, card_token = cart_page_tokens(shopper_client)

    # given: the shopper pressed "pay by card" and is on Stripe's page...
    shopper_client.post(reverse("orders:pay_by_card"), {"checkout_token": card_token})
    card_order = Order.objects.get()
    session = card_order.checkout_session
    assert stripe_status(session) == "open" and stock_of(limited) == 2

    # when: ...went Back and paid with points, from the same page (its points form's token)
    with django_capture_on_commit_callbacks() as after_commit:
        paid = shopper_client.post(reverse("orders:pay_with_points"), {"checkout_token": points_token}, headers=HTMX)

    # then: a second order, paid with points; the card order ended, its copies handed to the points order
    assert paid.status_code == 200
    points_order = Order.objects.exclude(pk=card_order.pk).get()
    card_order.refresh_from_db()
    session.refresh_from_db()
    assert (points_order.status, points_order.payment_method) == ("completed", "points")
    assert card_order.status == OrderStatus.CANCELLED and session.status == "invalidated"
    assert [(p.method, p.amount) for p in OrderPayment.objects.all()] == [("points", CART_POINTS)]
    assert stock_of(limited) == 2 and wallet_balance(user=filled_cart).current == 2000 - CART_POINTS
    # and: its Stripe page is made unpayable only after commit, outside the transaction
    assert stripe_status(session) == "open"

    # when: the shopper had paid on Stripe's page in another tab a moment before the expiry reached Stripe: the
    # expiry finds the session paid and applies the payment (as reconcile does), and the webhook follows
    with django_capture_on_commit_callbacks(execute=True):
        hosted.pay(session.stripe_session_id)
    with django_capture_on_commit_callbacks() as refund_queued:
        for callback in after_commit:
            callback()
    assert post_event(client, held_webhooks.take("checkout.session.completed")).json()["status"] == "processed"

    # then: the card order is not fulfilled a second time; its payment is recorded and refunded in full
    card_order.refresh_from_db()
    assert card_order.status == OrderStatus.CANCELLED and card_order.superseded_by == points_order
    assert card_order.payments.get().method == "stripe"
    assert "paid with points (order" in card_order.status_changes.last().reason
    [refund] = Refund.objects.filter(session=session)
    assert (refund.status, refund.amount_cents, refund.requested_by) == ("requested", CART_CENTS, None)
    assert len(refund_queued) == 1
    assert stock_of(limited) == 2 and not CartItem.objects.filter(user=filled_cart).exists()

    # and: once Stripe confirms the refund, the card order is refunded
    with django_capture_on_commit_callbacks(execute=True):
        submit_refund(str(refund.pk))
    post_event(client, held_webhooks.take("charge.refunded"))
    card_order.refresh_from_db()
    assert (card_order.status, card_order.refunded_cents) == (OrderStatus.REFUNDED, CART_CENTS)
    assert Order.objects.get(pk=points_order.pk).status == OrderStatus.COMPLETED


# --- card, another tab, card again -------------------------------------------------------------------------------

def start_two_card_checkouts(shopper_client, django_capture_on_commit_callbacks):
    """The shopper pressed "pay by card" in one tab and, in another, again: the second card order replaces the
    first. Returns both orders and the second start's after-commit callbacks (the first Stripe page's expiry),
    not run yet: the first page can still be paid."""
    shopper_client.post(reverse("orders:pay_by_card"), {"checkout_token": cart_page_tokens(shopper_client)[1]})
    first = Order.objects.get()
    with django_capture_on_commit_callbacks() as expiry:
        shopper_client.post(reverse("orders:pay_by_card"), {"checkout_token": cart_page_tokens(shopper_client)[1]})
    second = Order.objects.exclude(pk=first.pk).get()
    first.refresh_from_db()
    assert (first.status, second.status) == (OrderStatus.CANCELLED, OrderStatus.PENDING)
    return first, second, expiry


def pay_on_stripe(session, client, held_webhooks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        hosted.pay(session.stripe_session_id)
    return post_event(client, held_webhooks.take("checkout.session.completed")).json()


def test_a_late_card_payment_for_items_another_card_order_delivered_is_refunded(
        shopper_client, filled_cart, client, held_webhooks, django_capture_on_commit_callbacks):
    first, second, expiry = start_two_card_checkouts(shopper_client, django_capture_on_commit_callbacks)

    # when: the second order is paid, then the first tab's Stripe page too, a moment before its expiry reached it
    pay_on_stripe(second.checkout_session, client, held_webhooks, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        hosted.pay(first.checkout_session.stripe_session_id)
    with django_capture_on_commit_callbacks() as refund_queued:
        for callback in expiry:
            callback()
    held_webhooks.clear()

    # then: the items are delivered once (by the second order); the first payment is recorded and refunded in full
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.status == OrderStatus.COMPLETED
    assert first.status == OrderStatus.CANCELLED and first.superseded_by == second
    assert first.payments.get().method == "stripe"
    assert "paid by card (order " + second.short_id in first.status_changes.last().reason
    [refund] = Refund.objects.filter(session=first.checkout_session)
    assert (refund.status, refund.amount_cents, refund.requested_by) == ("requested", CART_CENTS, None)
    assert len(refund_queued) == 1
    assert not Refund.objects.filter(session=second.checkout_session).exists()


def test_a_late_card_payment_that_lands_first_makes_the_newer_card_payment_the_refunded_one(
        shopper_client, filled_cart, client, held_webhooks, django_capture_on_commit_callbacks):
    first, second, expiry = start_two_card_checkouts(shopper_client, django_capture_on_commit_callbacks)

    # when: the first tab's payment lands first (the order was cancelled but its copies can still be taken)...
    with django_capture_on_commit_callbacks(execute=True):
        hosted.pay(first.checkout_session.stripe_session_id)
        for callback in expiry:
            callback()
    held_webhooks.clear()
    first.refresh_from_db()
    assert first.status == OrderStatus.COMPLETED

    # ...and the second order is paid after it
    assert pay_on_stripe(second.checkout_session, client, held_webhooks,
                         django_capture_on_commit_callbacks)["status"] == "processed"

    # then: the second payment is the one refunded; the items stay delivered once
    second.refresh_from_db()
    assert second.status == OrderStatus.CANCELLED and second.superseded_by == first
    [refund] = Refund.objects.filter(session=second.checkout_session)
    assert refund.amount_cents == CART_CENTS
    assert not Refund.objects.filter(session=first.checkout_session).exists()


def test_paying_with_points_expires_the_card_checkouts_stripe_session_after_commit(
        shopper_client, filled_cart, held_webhooks, django_capture_on_commit_callbacks):
    give_points(filled_cart, 2000)
    points_token, card_token = cart_page_tokens(shopper_client)
    shopper_client.post(reverse("orders:pay_by_card"), {"checkout_token": card_token})
    session = CheckoutSession.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        shopper_client.post(reverse("orders:pay_with_points"), {"checkout_token": points_token})

    session.refresh_from_db()
    assert stripe_status(session) == "expired"
    assert (session.status, session.awaiting_stripe) == ("invalidated", False)
    with pytest.raises(hosted.SessionNotOpen):
        hosted.pay(session.stripe_session_id)


def test_paying_with_points_leaves_a_points_package_checkout_alone(shopper, filled_cart, package):
    from tests.payments import paying_session

    give_points(shopper, 2000)
    buying_points = paying_session(shopper, package)

    order_pay_with_points(user=shopper, idempotency_key="points")

    buying_points.refresh_from_db()
    assert buying_points.status == "active"


# --- the database --------------------------------------------------------------------------------------------------

def test_the_database_refuses_a_second_payment_for_an_order(shopper, filled_cart):
    give_points(shopper, 2000)
    order = order_pay_with_points(user=shopper, idempotency_key="points")

    with pytest.raises(IntegrityError), transaction.atomic():
        OrderPayment.objects.create(order=order, method="stripe", amount=CART_CENTS, currency="usd",
                                    stripe_payment_intent_id="pi_second")
    assert order.payments.count() == 1


def test_the_database_refuses_one_stripe_payment_for_two_orders(shopper, filled_cart):
    first = order_checkout_start(user=shopper, idempotency_key="one").order
    second = order_checkout_start(user=shopper, idempotency_key="two").order
    OrderPayment.objects.create(order=first, method="stripe", amount=100, currency="usd",
                                stripe_payment_intent_id="pi_once")

    with pytest.raises(IntegrityError), transaction.atomic():
        OrderPayment.objects.create(order=second, method="stripe", amount=100, currency="usd",
                                    stripe_payment_intent_id="pi_once")


def test_a_card_payment_for_an_order_already_paid_is_refunded_and_shown_to_staff(
        shopper, filled_cart, client, staff_client, held_webhooks, django_capture_on_commit_callbacks):
    # given: a card order already paid another way (as the shared form token once allowed: with points)
    session = order_checkout_start(user=shopper, idempotency_key="card")
    order = session.order
    OrderPayment.objects.create(order=order, method="points", amount=CART_POINTS)
    order_transition(order=order, to=OrderStatus.COMPLETED, reason="Paid with points.", fulfilled_at=timezone.now())
    from checkout.services import checkout_session_pay

    checkout_session_pay(session_id=session.pk, user=shopper, success_url="http://testserver/orders/",
                         cancel_url="http://testserver/cart/")
    session.refresh_from_db()

    # when: its card payment arrives too
    with django_capture_on_commit_callbacks(execute=True):
        hosted.pay(session.stripe_session_id)
    with django_capture_on_commit_callbacks() as refund_queued:
        post_event(client, held_webhooks.take("checkout.session.completed"))

    # then: refunded in full, automatically; the order keeps its one payment
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED and order.payments.get().method == "points"
    [refund] = Refund.objects.filter(session=session)
    assert (refund.amount_cents, refund.idempotency_key.split(":")[2]) == (CART_CENTS, "paid-twice")
    assert len(refund_queued) == 1
    assert "was already paid" in order.status_changes.last().reason
    # and: staff see it in the order's admin page, and on the dashboard
    admin_page = staff_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "was already paid" in admin_page and "Payment" in admin_page
    dashboard = staff_client.get(reverse("admin:dashboard")).content.decode()
    assert 'id="refunds-by-the-shop">1<' in dashboard
    assert staff_client.get("/admin/checkout/refund/?requested_by__isnull=True").status_code == 200


# --- a bank debit settling days after the card checkout ended -----------------------------------------------------

@pytest.mark.parametrize("sold_out_meanwhile", [False, True])
def test_a_debit_settling_after_eight_days_fulfils_the_card_order_or_refunds_it(
        shopper_client, filled_cart, two_pictures, client, held_webhooks, django_capture_on_commit_callbacks,
        sold_out_meanwhile):
    limited = two_pictures[1]
    shopper_client.post(reverse("orders:pay_by_card"), {"checkout_token": str(uuid.uuid4())})
    order = Order.objects.get()
    session = order.checkout_session
    with django_capture_on_commit_callbacks(execute=True):
        hosted.pay_later(session.stripe_session_id)
    post_event(client, held_webhooks.take("checkout.session.completed"))

    with time_machine.travel(timezone.now() + timedelta(days=8), tick=False):
        checkout_sessions_mark_expired()
        checkout_sessions_purge()
        assert Order.objects.get().status == OrderStatus.CANCELLED  # the reservation ended with the session
        assert CheckoutSession.objects.filter(pk=session.pk).exists()  # but the session is kept for its debit
        if sold_out_meanwhile:
            Product.objects.filter(pk=limited.pk).update(stock=0)
        with django_capture_on_commit_callbacks(execute=True):
            hosted.settle(session.stripe_session_id, succeeded=True)
        with django_capture_on_commit_callbacks() as refund_queued:
            response = post_event(client, held_webhooks.take("checkout.session.async_payment_succeeded"))

    assert response.json()["status"] == "processed"
    order.refresh_from_db()
    assert order.payments.get().amount == CART_CENTS
    if sold_out_meanwhile:
        assert order.status == OrderStatus.CANCELLED and stock_of(limited) == 0
        assert Refund.objects.get(session=session).idempotency_key == f"order:{order.pk}:unfulfillable"
        assert len(refund_queued) == 1
    else:
        assert order.status == OrderStatus.COMPLETED and stock_of(limited) == 2
        assert not Refund.objects.exists()
