"""A card order still pending after a few minutes says so on its page and offers to check again, which asks
Stripe (as the checkout result page does) and comes back to the order."""

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from checkout.tasks import check_with_stripe
from orders.models import Order

HTMX = {"HX-Request": "true"}


@pytest.fixture
def pending_card_order(shopper_client, filled_cart, held_webhooks):
    response = shopper_client.post(reverse("orders:pay_by_card"), {"checkout_token": str(uuid.uuid4())})
    assert response.status_code == 302
    return Order.objects.get(user=filled_cart)


def order_pages(client, order, *, after: timedelta):
    url = reverse("orders:detail", args=[order.pk])
    with time_machine.travel(order.created_at + after, tick=False):
        return client.get(url).content.decode(), client.get(url, headers=HTMX).content.decode()


def test_a_card_order_pending_for_a_few_minutes_is_not_stuck_yet(shopper_client, pending_card_order):
    for html in order_pages(shopper_client, pending_card_order, after=timedelta(minutes=4)):
        assert "Not paid yet" in html
        assert "Still pending" not in html
        assert "Check again" not in html


def test_a_card_order_pending_too_long_says_so_and_check_again_asks_stripe(
        shopper_client, pending_card_order, django_capture_on_commit_callbacks):
    order = pending_card_order
    check_url = reverse("orders:check", args=[order.pk])

    for html in order_pages(shopper_client, order, after=timedelta(minutes=7)):
        assert "Still pending after 7 minutes." in html
        assert f'action="{check_url}"' in html

    # the shopper had paid on Stripe's page, but its webhook was lost: checking again finds the payment
    with django_capture_on_commit_callbacks(execute=True):
        shopper_client.post(order.checkout_session.stripe_checkout_url, {"action": "pay"})
    assert Order.objects.get(pk=order.pk).status == "pending"
    with django_capture_on_commit_callbacks() as queued:
        response = shopper_client.post(check_url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("orders:detail", args=[order.pk])
    assert "Asking Stripe about your payment" in response.content.decode()
    assert len(queued) == 1 and Order.objects.get(pk=order.pk).status == "pending"  # the worker asks, not the view

    check_with_stripe(str(order.checkout_session_id))  # what the queued task runs

    assert Order.objects.get(pk=order.pk).status == "completed"
    html = shopper_client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert "Still pending" not in html and "Asking Stripe about your payment" not in html
