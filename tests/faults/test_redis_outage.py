"""Redis stopped: pages still render from PostgreSQL, the balance is right, sessions survive, and a task that
cannot be queued is kept in the outbox and relayed once Redis is back (ops/cache.py, ops/outbox.py)."""

import logging

from http.cookies import SimpleCookie

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from config.celery import app as celery_app
from ops.models import OutboxMessage
from ops.outbox import outbox_relay
from orders.models import Order
from orders.services.cart import cart_add
from shop.models import Session
from tests.factories import ProductFactory, give_points

HTMX = {"HX-Request": "true"}


@pytest.fixture
def shop_on_throwaway_redis(settings, throwaway_redis):
    """The cache and the Celery broker on a Redis of this test's own (sessions are in PostgreSQL)."""
    settings.CACHES = {"default": {"BACKEND": "ops.cache.ResilientRedisCache", "LOCATION": f"{throwaway_redis.url}/0",
                                   "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25}}}
    keys = ("broker_url", "broker_write_url", "broker_read_url")
    previous = {key: celery_app.conf[key] for key in keys}
    celery_app.conf.update({key: f"{throwaway_redis.url}/1" for key in keys})
    celery_app._pool = celery_app.amqp._producer_pool = None
    yield throwaway_redis
    celery_app.conf.update(previous)
    celery_app._pool = celery_app.amqp._producer_pool = None


def test_pages_sign_in_balance_and_payment_work_without_redis_and_the_email_task_waits_for_it(
        client, shopper, password, shop_on_throwaway_redis, django_capture_on_commit_callbacks, caplog):
    # given a shopper with points and a picture in the cart, signed in while Redis was up
    product = ProductFactory(title="Harbour Lights", price_points=450)
    give_points(shopper, 1000)
    cart_add(user=shopper, product_id=product.pk)
    assert client.post(reverse("login"), {"username": shopper.email, "password": password}).status_code == 302
    assert client.get(reverse("wallet:balance")).status_code == 200

    # when Redis stops
    shop_on_throwaway_redis.stop()
    caplog.set_level(logging.WARNING)

    # then pages render from PostgreSQL, with the balance from the database
    assert b"Harbour Lights" in client.get(reverse("shop:catalog")).content
    badge = client.get(reverse("wallet:balance"), headers=HTMX)
    assert badge.status_code == 200 and b'data-balance="1000"' in badge.content
    cart = client.get(reverse("orders:cart"))
    token = cart.context["points_checkout_token"]
    # and paying with points works; the confirmation email's task cannot be queued, so it is kept
    with django_capture_on_commit_callbacks(execute=True):
        paid = client.post(reverse("orders:pay_with_points"), {"checkout_token": token}, headers=HTMX)
    assert paid.status_code == 200
    order = Order.objects.get(user=shopper)
    assert order.status == "completed"
    assert b'data-balance="550"' in client.get(reverse("wallet:balance"), headers=HTMX).content
    kept = OutboxMessage.objects.get()
    # (the cache cannot say whether a receipts task is on its way already: one is queued, and kept)
    assert (kept.task, kept.args) == ("orders.tasks.send_due_receipts", [])
    assert "task_queue_failed task=orders.tasks.send_due_receipts" in caplog.text
    health = client.get(reverse("healthz"))
    assert health.status_code == 200 and health.json()["status"] == "degraded: broker, cache"
    assert outbox_relay() == {"sent": 0, "waiting": 1}  # still down: kept, tried again later
    # a new sign-in works too (the session lives in PostgreSQL)
    client.logout()
    assert client.post(reverse("login"), {"username": shopper.email, "password": password}).status_code == 302
    assert client.get(reverse("orders:detail", args=[order.pk])).status_code == 200

    # when Redis is back, the relay hands the task to the broker
    shop_on_throwaway_redis.start()
    OutboxMessage.objects.update(next_attempt_at=kept.created_at)

    assert outbox_relay() == {"sent": 1, "waiting": 0}
    assert not OutboxMessage.objects.exists()
    assert shop_on_throwaway_redis.client(db=1).llen("celery") == 1


def test_beat_does_not_keep_its_own_periodic_sends(monkeypatch):
    from ops import outbox

    monkeypatch.setattr(outbox, "_keep_failed_publishes", True)
    outbox._stop_keeping_failed_publishes()

    assert outbox._keep_failed_publishes is False


def test_a_log_out_or_password_change_during_a_redis_blip_is_final_when_redis_answers_again(
        client, shopper, password, shop_on_throwaway_redis):
    elsewhere = Client()  # the same account signed in on another device, and a copy of this browser's cookie
    assert elsewhere.post(reverse("login"), {"username": shopper.email, "password": password}).status_code == 302
    assert client.post(reverse("login"), {"username": shopper.email, "password": password}).status_code == 302
    copied = Client()
    copied.cookies = SimpleCookie({settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value})
    assert b"data-balance" in copied.get(reverse("wallet:balance"), headers=HTMX).content

    # Redis stops answering (paused, as in a failover) while the shopper logs out here and changes the password
    # on the other device
    pauser = shop_on_throwaway_redis.client(db=0)
    pauser.execute_command("CLIENT", "PAUSE", 4000, "ALL")
    assert client.post(reverse("logout")).status_code == 302
    assert elsewhere.post(reverse("password_change"), {
        "old_password": password, "new_password1": "a-new-Passw0rd!", "new_password2": "a-new-Passw0rd!"},
    ).status_code == 302
    pauser.execute_command("CLIENT", "UNPAUSE")

    # and once Redis answers again, the logged-out cookie is nobody: no badge, no wallet, no cart change
    badge = copied.get(reverse("wallet:balance"), headers=HTMX)
    assert badge.status_code == 200 and badge["HX-Redirect"].startswith(reverse("login"))
    assert copied.get(reverse("wallet:home")).status_code == 302
    assert copied.post(reverse("orders:cart_add"), {"product_id": 1}).status_code == 302
    assert Session.objects.filter(user=shopper).count() == 1  # only the device that changed the password
