"""A gunicorn worker SIGKILLed in the middle of processing a webhook: its transaction never commits, Stripe's
redelivery (a new signature, the same event) credits the points, and exactly once."""

import json
import os
import signal
import threading

import psycopg
import requests
from django.db import connection

from checkout.models import CheckoutSession, WebhookEvent
from stripe_fake import hosted
from stripe_fake.events import public
from stripe_fake.models import FakeStripeObject
from tests.factories import PointsPackageFactory, UserFactory
from tests.payments import paying_session
from tests.processes import wait_for
from tests.stripe_events import WEBHOOK_URL, sign
from wallet.audit import wallet_audit
from wallet.models import LedgerEntry, Wallet


def signed_post(base: str, payload: str):
    return requests.post(f"{base}{WEBHOOK_URL}", data=payload, timeout=30,
                         headers={"Content-Type": "application/json", "Stripe-Signature": sign(payload)})


def paid_event() -> tuple[CheckoutSession, str]:
    session = paying_session(UserFactory(), PointsPackageFactory(points=550, price_cents=3999))
    hosted.pay(session.stripe_session_id)
    event = FakeStripeObject.objects.get(kind="event", data__type="checkout.session.completed")
    return session, json.dumps(public(event.data))


def blocked_backends(conn) -> list[int]:
    rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()").fetchall()
    return [pid for (pid,) in rows]


def test_a_worker_killed_mid_webhook_leaves_nothing_and_the_redelivery_credits_once(gunicorn, held_webhooks):
    session, payload = paid_event()  # its webhook held: the test delivers it itself
    database = connection.settings_dict
    connect = {"dbname": database["NAME"], "user": database["USER"], "host": database["HOST"],
               "port": database["PORT"]}
    # Two connections: the locker's transaction holds the lock; the watcher reads pg_stat_activity in autocommit,
    # since within one transaction PostgreSQL keeps showing the snapshot it took first.
    locker, watcher = psycopg.connect(**connect), psycopg.connect(**connect, autocommit=True)
    try:
        # given the webhook's transaction stopped mid-way: the wallet row is locked by us, so its credit waits
        locker.execute("SELECT id FROM wallet_wallet WHERE user_id = %s FOR UPDATE", [session.user_id])
        first = {}
        delivery = threading.Thread(target=lambda: first.setdefault("outcome", _try(signed_post, gunicorn.base,
                                                                                    payload)))
        delivery.start()
        [orphan] = wait_for(lambda: blocked_backends(watcher), timeout=20, what="the webhook to wait for the lock")

        # when the worker is killed (as the OOM killer or a hard timeout would), and its lock wait is let go
        [worker] = gunicorn.worker_pids()
        os.kill(worker, signal.SIGKILL)
        delivery.join(30)
        locker.rollback()
        wait_for(lambda: orphan not in [pid for (pid,) in watcher.execute(
            "SELECT pid FROM pg_stat_activity").fetchall()], timeout=20, what="the orphaned transaction to end")

        # then nothing of it was committed, and Stripe saw a failed delivery
        assert isinstance(first["outcome"], requests.ConnectionError)
        assert not LedgerEntry.objects.filter(kind="purchase").exists()
        assert not WebhookEvent.objects.filter(status="processed").exists()

        # when Stripe redelivers (twice, as it may), to the worker the arbiter started instead
        wait_for(lambda: gunicorn.worker_pids() and gunicorn.worker_pids() != [worker], timeout=30,
                 what="a new worker")
        redelivered = wait_for(lambda: _ok(signed_post(gunicorn.base, payload)), timeout=30, what="a 200")
        replayed = signed_post(gunicorn.base, payload)
    finally:
        locker.close()
        watcher.close()

    # then the points were credited exactly once
    assert redelivered.json() == {"received": True, "status": "processed"}
    assert replayed.status_code == 200
    assert LedgerEntry.objects.filter(kind="purchase").count() == 1
    assert Wallet.objects.get(user_id=session.user_id).balance == 550
    session.refresh_from_db()
    assert session.status == "completed"
    assert WebhookEvent.objects.get().status == "processed"
    assert wallet_audit().ok


def _try(function, *args):
    try:
        return function(*args)
    except requests.RequestException as error:
        return error


def _ok(response):
    return response if response.status_code == 200 else None
