"""The order receipt: an HTML and a text part with the order, its items, the amounts (money formatted, points with
thousands separators), how it was paid and download links on SITE_URL; queued for Celery when the payment commits
(one task a second later for all the receipts due by then), sent once."""

import re
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django_celery_beat.models import PeriodicTask
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.urls import reverse

from orders.models import Order
from orders.services.cart import cart_add
from orders.services.placement import order_pay_with_points
from orders.tasks import send_due_receipts, send_order_confirmation
from tests.factories import ProductFactory, give_points

SITE = "http://127.0.0.1:9123"


@pytest.fixture
def queued(monkeypatch):
    """The ``send_due_receipts`` tasks queued for the worker: [their apply_async options, ...]."""
    options = []
    monkeypatch.setattr(send_due_receipts, "apply_async", lambda *args, **kwargs: options.append(kwargs))
    return options


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
    assert queued == [{"countdown": 1}]  # a second later: the receipts due by then go out together

    send_due_receipts()

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

    assert queued == [{"countdown": 1}]
    send_due_receipts()
    message, html = the_receipt()
    for part in (message.body, html):
        assert "$1,234.56" in part and "Card, through Stripe" in part
        assert "pts" not in part


def test_no_receipt_for_an_order_that_is_not_paid(shopper, dear_pictures):
    cart_add(user=shopper, product_id=dear_pictures[1].pk)
    from orders.services.card import order_checkout_start

    pending = order_checkout_start(user=shopper, idempotency_key="receipt-pending").order

    send_due_receipts()
    send_order_confirmation(str(pending.pk))  # a task queued per order before receipts went out in batches

    assert mail.outbox == []


def pay_for(shopper, product, key):
    cart_add(user=shopper, product_id=product.pk)
    return order_pay_with_points(user=shopper, idempotency_key=key)


def test_payments_in_the_same_second_queue_one_task_that_receipts_them_all_once(
        shopper, dear_pictures, queued, django_capture_on_commit_callbacks):
    give_points(shopper, 20000)
    with django_capture_on_commit_callbacks(execute=True):
        first = pay_for(shopper, dear_pictures[0], "batch-1")
    with django_capture_on_commit_callbacks(execute=True):
        second = pay_for(shopper, dear_pictures[1], "batch-2")
    assert len(queued) == 1  # the second payment found a task on its way

    send_due_receipts()
    assert sorted(message.subject for message in mail.outbox) == sorted(
        f"Your receipt for order {order.short_id}" for order in (first, second))
    send_due_receipts()  # beat's run a minute later, or the task delivered twice
    assert len(mail.outbox) == 2

    with django_capture_on_commit_callbacks(execute=True):
        pay_for(shopper, ProductFactory(price_points=10), "batch-3")
    assert len(queued) == 2  # the task ran: the next payment queues another


def test_a_failing_mail_server_releases_the_receipts_not_sent_for_the_retry(
        shopper, dear_pictures, queued, django_capture_on_commit_callbacks, settings):
    give_points(shopper, 20000)
    orders = [pay_for(shopper, product, f"fail-{number}") for number, product in enumerate(dear_pictures)]
    settings.EMAIL_BACKEND = "tests.orders.failing_mail.SecondMessageFails"

    with pytest.raises(OSError):
        send_due_receipts()

    [sent] = mail.outbox
    assert orders[0].short_id in sent.subject
    assert [order.pk for order in Order.objects.filter(confirmation_sent_at__isnull=True)] == [orders[1].pk]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    send_due_receipts()  # the retry
    assert orders[1].short_id in mail.outbox[-1].subject and len(mail.outbox) == 2


def test_a_receipt_the_mail_server_refuses_does_not_hold_back_the_others(
        shopper, dear_pictures, queued, settings):
    give_points(shopper, 20000)
    refused, accepted = [pay_for(shopper, product, f"refuse-{number}") for number, product in enumerate(dear_pictures)]
    settings.EMAIL_BACKEND = "tests.orders.failing_mail.FirstMessageRefused"

    with pytest.raises(OSError):
        send_due_receipts()

    [sent] = mail.outbox
    assert accepted.short_id in sent.subject
    assert list(Order.objects.filter(confirmation_sent_at__isnull=True).values_list("pk", flat=True)) == [refused.pk]


def test_an_order_completed_before_the_window_never_gets_a_surprise_receipt(shopper, dear_pictures, queued):
    give_points(shopper, 20000)
    old = pay_for(shopper, dear_pictures[0], "old")
    Order.objects.filter(pk=old.pk).update(fulfilled_at=old.fulfilled_at - timedelta(days=3))

    send_due_receipts()

    assert mail.outbox == []


def test_without_a_shared_cache_every_payment_queues_the_task(
        shopper, dear_pictures, queued, django_capture_on_commit_callbacks, monkeypatch):
    # make run: each process has a cache of its own, so a flag raised in one is never lowered by the worker.
    monkeypatch.setattr(caches._connections, "default", LocMemCache("receipts-test", {}), raising=False)
    give_points(shopper, 20000)
    for number, product in enumerate(dear_pictures):
        with django_capture_on_commit_callbacks(execute=True):
            pay_for(shopper, product, f"local-{number}")
    assert len(queued) == 2


def test_beat_sends_the_receipts_due_every_minute(db):
    task = PeriodicTask.objects.get(task="orders.tasks.send_due_receipts")
    assert (task.interval.every, task.interval.period, task.enabled) == (1, "minutes", True)
