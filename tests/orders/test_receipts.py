"""The order receipt: an HTML and a text part with the order, its items, the amounts (money formatted, points with
thousands separators), how it was paid and download links on SITE_URL; queued for Celery when the payment commits,
sent once."""

import re
import uuid

import pytest
from django.core import mail
from django.urls import reverse

from orders.models import Order
from orders.services.cart import cart_add
from orders.services.placement import order_pay_with_points
from orders.tasks import send_order_confirmation
from tests.factories import ProductFactory, give_points

SITE = "http://127.0.0.1:9123"


@pytest.fixture
def queued(monkeypatch):
    """The receipts queued for the worker: [order id, ...] (run them with ``send_order_confirmation``)."""
    ids = []
    monkeypatch.setattr(send_order_confirmation, "delay", ids.append)
    return ids


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE


@pytest.fixture
def dear_pictures(db):
    return [ProductFactory(title="Harbour <Lights> & Co", price_cents=123456, price_points=12500),
            ProductFactory(title="Desert Bloom", price_cents=299, price_points=280)]


def the_receipt():
    [message] = mail.outbox
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return message, html


def test_a_points_order_is_receipted_after_commit_with_amounts_items_and_links(
        shopper, dear_pictures, queued, django_capture_on_commit_callbacks, client):
    give_points(shopper, 20000)
    for product in dear_pictures:
        cart_add(user=shopper, product_id=product.pk)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        order = order_pay_with_points(user=shopper, idempotency_key="receipt-points")
    assert queued == []  # nothing is queued before the payment commits
    for callback in callbacks:
        callback()
    assert queued == [str(order.pk)]

    send_order_confirmation(queued[0])

    message, html = the_receipt()
    assert message.to == [shopper.email] and order.short_id in message.subject
    for part in (message.body, html):
        assert order.short_id in part
        assert "12,500 points" in part and "280 points" in part and "12,780 points" in part  # items and total
        assert "Points from your wallet" in part
        assert f"{SITE}/orders/{order.pk}/" in part
    assert "Harbour <Lights> & Co" in message.body  # plain text is not HTML-escaped...
    assert "Harbour &lt;Lights&gt; &amp; Co" in html and "<Lights>" not in html  # ...the HTML part is
    links = re.findall(rf"{re.escape(SITE)}/downloads/[^\s\"<]+/", message.body)
    assert len(links) == 2 and all(f'href="{link}"' in html for link in links)
    client.force_login(shopper)
    assert client.get(links[0].removeprefix(SITE)).status_code == 200  # the buyer's link downloads


def test_a_card_order_is_receipted_with_money_and_the_payment_method(
        shopper_client, shopper, dear_pictures, queued, webhooks, django_capture_on_commit_callbacks):
    cart_add(user=shopper, product_id=dear_pictures[0].pk)
    shopper_client.post(reverse("orders:pay_by_card"), {"checkout_token": str(uuid.uuid4())})
    order = Order.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        shopper_client.post(order.checkout_session.stripe_checkout_url, {"action": "pay"})

    assert queued == [str(order.pk)]
    send_order_confirmation(queued[0])
    message, html = the_receipt()
    for part in (message.body, html):
        assert "$1,234.56" in part and "Card, through Stripe" in part
        assert "pts" not in part


def test_no_receipt_for_an_order_that_is_not_paid(shopper, dear_pictures):
    cart_add(user=shopper, product_id=dear_pictures[1].pk)
    from orders.services.card import order_checkout_start

    pending = order_checkout_start(user=shopper, idempotency_key="receipt-pending").order

    send_order_confirmation(str(pending.pk))

    assert mail.outbox == []
