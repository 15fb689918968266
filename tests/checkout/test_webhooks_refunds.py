"""The webhook endpoint and refunds: verification of the signed body, and charge.refunded from every direction."""

import json
import random
import time

import pytest
import stripe
from django.conf import settings

from checkout import gateway
from checkout.models import Refund, WebhookEvent
from orders.models import Order, OrderStatus
from orders.services.refunds import order_refund_stripe
from tests.factories import StaffFactory, UserFactory, paid_card_order
from tests.stripe_events import WEBHOOK_URL, deliver_concurrently, post_event, sign, stripe_event


def _card_order(user) -> Order:
    return paid_card_order(user=user)


def _refunded_charge(order, amount_refunded: int) -> dict:
    return {"id": "ch_test_1", "object": "charge", "amount": order.total_cents, "amount_refunded": amount_refunded,
            "currency": "usd", "payment_intent": order.stripe_payment_intent_id,
            "refunded": amount_refunded == order.total_cents, "status": "succeeded"}


def _raw_post(client, body: str, signature: str):
    return client.post(WEBHOOK_URL, data=body.encode(), content_type="application/json",
                       headers={"Stripe-Signature": signature})


# --- verification: stripe-python's signature check, then the body as JSON ----------------------------------

def test_verification_returns_the_signed_event_as_plain_json(db):
    event = stripe_event("charge.refunded", {"id": "ch_test_1", "object": "charge",
                                             "refunds": {"object": "list", "data": [{"id": "re_1"}]}})
    payload = json.dumps(event)

    verified = gateway.webhook_payload_verify(payload=payload.encode(), signature=sign(payload))

    assert verified == event
    assert type(verified) is dict and type(verified["data"]["object"]["refunds"]["data"][0]) is dict
    json.dumps(verified)  # storable as it is


def test_a_correctly_signed_thin_event_notification_is_refused(client, db, caplog):
    # only snapshot events (object: event) carry an object to apply; the signature alone would let this one in
    body = json.dumps({"id": "evt_test_thin", "object": "v2.core.event", "type": "charge.refunded",
                       "data": {"object": {"id": "ch_test_1"}}})
    assert stripe.WebhookSignature.verify_header(body, sign(body), settings.STRIPE_WEBHOOK_SECRET, 300)

    response = _raw_post(client, body, sign(body))

    assert response.status_code == 400
    assert "Rejected a Stripe webhook" in caplog.text and not WebhookEvent.objects.exists()


@pytest.mark.parametrize("signing, body_change", [
    pytest.param({"secret": "whsec_forger"}, None, id="forged"),
    pytest.param({"timestamp": int(time.time()) - 301}, None, id="stale"),
    pytest.param({}, ("3999", "9999"), id="tampered after signing"),
])
def test_forged_stale_or_tampered_refund_events_refund_nothing(client, shopper, caplog, signing, body_change):
    order = _card_order(shopper)
    body = json.dumps(stripe_event("charge.refunded", _refunded_charge(order, 3999)))
    signature = sign(body, **signing)
    if body_change:
        body = body.replace(*body_change)

    response = _raw_post(client, body, signature)

    assert response.status_code == 400 and "Rejected a Stripe webhook" in caplog.text
    assert not WebhookEvent.objects.exists()
    order.refresh_from_db()
    assert (order.status, order.refunded_cents) == (OrderStatus.COMPLETED, 0)


@pytest.mark.parametrize("body", ['{"id": "evt_test_1", "object": "event", "type": "charge.refunded"',
                                  "", "null", '"evt_test_1"'])
def test_malformed_bodies_are_refused(client, db, caplog, body):
    response = _raw_post(client, body, sign(body))

    assert response.status_code == 400 and "Rejected a Stripe webhook" in caplog.text
    assert not WebhookEvent.objects.exists()


# --- charge.refunded ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("charge", [
    {"id": "ch_test_1", "object": "charge", "amount_refunded": 100, "payment_intent": "pi_test_not_ours"},
    {"id": "ch_test_1", "object": "charge", "amount_refunded": 100, "payment_intent": None},
])
def test_charge_refunded_for_an_unknown_payment_is_ignored(client, shopper, charge):
    order = _card_order(shopper)

    response = post_event(client, stripe_event("charge.refunded", charge))

    assert response.json()["status"] == "ignored"
    assert WebhookEvent.objects.get().error.startswith("unknown payment")
    order.refresh_from_db()
    assert order.refunded_cents == 0


def test_charge_refunded_for_more_than_the_order_is_clamped_to_its_total(client, shopper, caplog):
    order = _card_order(shopper)

    post_event(client, stripe_event("charge.refunded", _refunded_charge(order, 5000)))

    order.refresh_from_db()
    assert (order.status, order.refunded_cents) == (OrderStatus.REFUNDED, 3999)
    assert "more than order" in caplog.text


def test_a_failing_refund_confirmation_answers_500_and_a_retry_applies_it(client, shopper, monkeypatch):
    order = _card_order(shopper)
    event = stripe_event("charge.refunded", _refunded_charge(order, 1000))

    def broken(**kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr("orders.checkout_kind.order_refunds_follow", broken)
    assert post_event(client, event).status_code == 500
    monkeypatch.undo()
    retried = post_event(client, event)

    assert retried.status_code == 200
    record = WebhookEvent.objects.get()
    assert (record.status, record.attempts, record.error) == (
        "processed", 2, "refund made in Stripe recorded (pending): order partially refunded")
    order.refresh_from_db()
    assert order.refunded_cents == 1000


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_refund_events_record_each_refund_once(held_webhooks, fake_stripe):
    # given: two refunds Stripe made and settled, whose answers never reached the shop: only the events tell
    order = _card_order(UserFactory())
    staff = StaffFactory()
    fake_stripe.fail("lost_response", method="post", path="/v1/refunds", times=10)
    order_refund_stripe(order_id=order.pk, staff_user=staff, reason="First", cents=1000)
    order_refund_stripe(order_id=order.pk, staff_user=staff, reason="Second", cents=500)
    fake_stripe.reset()
    assert list(Refund.objects.values_list("status", flat=True)) == ["requested", "requested"]
    events = [event for event in held_webhooks if event["type"] != "checkout.session.completed"]
    assert sorted({event["type"] for event in events}) == [
        "charge.refund.updated", "charge.refunded", "refund.created", "refund.updated"]
    deliveries = events * 4
    random.Random(11).shuffle(deliveries)

    # when: Stripe delivers them all at once, again and again
    statuses = deliver_concurrently(deliveries)

    # then
    assert statuses == [200] * len(deliveries)
    order.refresh_from_db()
    assert (order.status, order.refunded_cents) == (OrderStatus.COMPLETED, 1500)
    assert sorted(Refund.objects.values_list("amount_cents", "status")) == [(500, "succeeded"), (1000, "succeeded")]
    assert Refund.objects.exclude(stripe_refund_id=None).count() == 2 and not Refund.objects.filter(origin="stripe")
    confirmations = list(order.status_changes.filter(reason__startswith="Stripe accepted")
                         .values_list("reason", flat=True))
    assert len(set(confirmations)) == len(confirmations) and confirmations[-1].endswith("$15.00 of $39.99 refunded.")
    assert WebhookEvent.objects.count() == len(events)
