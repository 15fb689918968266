"""Stripe's own objects (fixtures3.json) through the real webhook view: every object, in every event Stripe sends
about it, is stored once exactly as sent and answered 2xx; objects that are not the shop's change nothing."""

import copy
import json
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection

from checkout.models import CheckoutSession, WebhookEvent
from stripe_fake import hosted
from stripe_fake.events import public
from tests.factories import UserFactory, paid_card_order
from tests.payments import paying_session
from tests.stripe_events import post_event, stripe_event
from tests.stripe_objects import event_types_about, stripe_object, stripe_object_names
from wallet.models import LedgerEntry
from wallet.selectors import wallet_balance

SHOP_APPS = ("checkout", "wallet", "orders", "shop", "ops")


def _shop_rows() -> dict:
    """Every row the shop keeps (the webhook deliveries' own records aside), to compare before and after."""
    rows = {}
    for label in SHOP_APPS:
        for model in apps.get_app_config(label).get_models():
            if model is not WebhookEvent:
                rows[model._meta.label] = list(model.objects.order_by("pk").values())
    return rows


@pytest.fixture
def the_shops_payments(client, shopper, package):
    """What Stripe's example objects must leave alone: a paid points package, a paid card order, and a session
    on its way to Stripe's page."""
    paid = paying_session(shopper, package)
    completed = hosted.pay(paid.stripe_session_id)
    assert post_event(client, stripe_event("checkout.session.completed", public(completed))).status_code == 200
    paid_card_order(user=UserFactory())
    paying_session(UserFactory(), package)
    assert LedgerEntry.objects.filter(kind="purchase").count() == 1
    WebhookEvent.objects.all().delete()
    return _shop_rows()


def test_the_event_types_cover_what_the_shop_is_subscribed_to():
    """The object -> types table ties every event the README lists to the object it carries."""
    carried = {event_type for name in stripe_object_names() for event_type in event_types_about(name)}

    assert {"checkout.session.completed", "checkout.session.expired", "payment_intent.payment_failed",
            "charge.refunded", "charge.refund.updated", "refund.failed", "charge.dispute.created",
            "charge.dispute.funds_reinstated", "price.created", "plan.updated", "invoiceitem.created"} <= carried
    assert "charge.dispute.created" in event_types_about("dispute")
    assert "charge.refund.updated" in event_types_about("refund")


@pytest.mark.parametrize("name", stripe_object_names())
def test_every_stripe_object_in_every_event_about_it_is_stored_once_and_changes_nothing(client, the_shops_payments,
                                                                                      name):
    events = [stripe_event(event_type, stripe_object(name)) for event_type in event_types_about(name)]

    answers = [(post_event(client, event), post_event(client, event)) for event in events]

    for event, (first, replay) in zip(events, answers):
        assert (first.status_code, replay.status_code) == (200, 200), (event["type"], first.content[:300])
        assert first.json()["status"] == "ignored", event["type"]
    stored = {record.event_id: record for record in WebhookEvent.objects.all()}
    assert len(stored) == len(events)
    for event in events:
        record = stored[event["id"]]
        assert (record.type, record.status, record.attempts) == (event["type"], "ignored", 1)
        assert record.payload == event  # exactly as Stripe sent it: decimal strings stay strings
        assert record.stripe_object_id == str(event["data"]["object"].get("id") or "")
    assert _shop_rows() == the_shops_payments


def _completed_with_currency_conversion(session) -> dict:
    """Stripe's example checkout.session, as Stripe sends it for ``session`` once paid in the shopper's currency
    (Adaptive Pricing): ``currency_conversion`` carries ``fx_rate`` as a decimal string."""
    paid = stripe_object("checkout.session")
    paid.update(id=session.stripe_session_id, client_reference_id=str(session.pk), status="complete",
                payment_status="paid", amount_total=session.amount_cents, amount_subtotal=session.amount_cents,
                currency=session.currency, payment_intent="pi_test_converted", url=None,
                metadata={"checkout_session_id": str(session.pk), "kind": session.kind})
    paid["currency_conversion"].update(source_currency=session.currency, fx_rate="0.9176583")
    return stripe_event("checkout.session.completed", paid)


def test_a_completed_session_with_a_currency_conversion_credits_once_and_is_stored_as_sent(client, shopper,
                                                                                          package):
    session = paying_session(shopper, package)
    event = _completed_with_currency_conversion(session)

    first, replay = post_event(client, event), post_event(client, event)

    assert (first.status_code, replay.status_code) == (200, 200)
    assert first.json()["status"] == "processed"
    assert wallet_balance(user=shopper).current == 550
    record = WebhookEvent.objects.get()
    assert record.payload == event
    assert record.payload["data"]["object"]["currency_conversion"]["fx_rate"] == "0.9176583"
    session.refresh_from_db()
    assert session.status == CheckoutSession.Status.COMPLETED


def test_the_stored_payload_is_the_json_stripe_sent_not_the_librarys_objects(client, db):
    """stripe-python's objects turn decimal strings into Decimal: none of that reaches the database."""
    price = stripe_object("price")
    price["unit_amount_decimal"] = "1234.5678"

    post_event(client, stripe_event("price.created", price))

    with connection.cursor() as cursor:
        cursor.execute("SELECT payload::text FROM checkout_webhookevent")
        (text,) = cursor.fetchone()
    assert json.loads(text)["data"]["object"]["unit_amount_decimal"] == "1234.5678"
    assert not isinstance(WebhookEvent.objects.get().payload["data"]["object"]["unit_amount_decimal"], Decimal)


def test_a_failing_event_with_decimal_strings_is_recorded_as_failed_and_retried(client, shopper, package,
                                                                               monkeypatch):
    session = paying_session(shopper, package)
    event = _completed_with_currency_conversion(session)

    def broken(**kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr("checkout.services.webhooks.checkout_session_sync", broken)
    failed = post_event(client, event)
    monkeypatch.undo()

    assert (failed.status_code, failed["Content-Type"]) == (500, "text/plain")
    record = WebhookEvent.objects.get()
    assert (record.status, record.payload) == ("failed", event)
    assert post_event(client, copy.deepcopy(event)).json()["status"] == "processed"
    record.refresh_from_db()
    assert (record.status, record.attempts) == ("processed", 2)
    assert wallet_balance(user=shopper).current == 550


@pytest.mark.django_db(transaction=True)
def test_when_even_the_failure_cannot_be_recorded_the_answer_is_still_a_plain_500(client, monkeypatch, caplog):
    monkeypatch.setattr("checkout.services.webhooks._dispatch", lambda *args, **kwargs: 1 / 0)
    monkeypatch.setattr("checkout.services.webhooks._FAILURE_SQL", "SELECT no_such_column FROM checkout_webhookevent")

    response = post_event(client, stripe_event("price.created", stripe_object("price")))

    assert (response.status_code, response["Content-Type"]) == (500, "text/plain")
    assert "Recording the failure of Stripe event" in caplog.text
    assert not WebhookEvent.objects.exists()  # nothing half-written: Stripe's retry starts afresh


def test_a_nul_character_stripe_sent_is_stored_as_the_replacement_character(client, db):
    """JSON allows U+0000 in a string (a customer's name typed into a form); PostgreSQL's jsonb does not."""
    customer = stripe_object("customer")
    customer.update(name="Ada\u0000Lovelace", metadata={"note\u0000": "a\u0000b"})
    event = stripe_event("customer.updated", customer)

    response = post_event(client, event)

    assert (response.status_code, response.json()["status"]) == (200, "ignored")
    stored = WebhookEvent.objects.get().payload["data"]["object"]
    assert (stored["name"], stored["metadata"]) == ("Ada\ufffdLovelace", {"note\ufffd": "a\ufffdb"})
