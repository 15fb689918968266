"""The fake's objects have Stripe's shape: every field Stripe's own example (fixtures3.json) has, with the JSON
types, nullability and current enum values stripe-python knows -- in every state the fake puts them in, as its
API answers and as its events carry them."""

import json

import pytest
from django.conf import settings

from checkout import gateway
from stripe_fake import api, hosted, store
from stripe_fake.events import public
from stripe_fake.models import FakeStripeObject
from stripe_fake.transport import FakeStripeHTTPClient
from tests.payments import stripe_session_create
from tests.stripe_objects import shape_differences, stripe_object


def _get(path: str) -> dict:
    """What the fake answers a GET on ``path``, as it goes over the wire."""
    body, status, _ = FakeStripeHTTPClient().request(
        "get", "https://api.stripe.com" + path, {"Authorization": f"Bearer {settings.STRIPE_SECRET_KEY}"})
    assert status == 200, body
    return json.loads(body)


def _session(stripe_session_id: str) -> dict:
    return _get(f"/v1/checkout/sessions/{stripe_session_id}")


def _events(event_type: str) -> list[dict]:
    rows = FakeStripeObject.objects.filter(kind="event", data__type=event_type).order_by("created_at")
    return [public(row.data)["data"]["object"] for row in rows]


def _intent(stripe_session_id: str) -> dict:
    return public(store.load(store.load(stripe_session_id, kind="checkout.session")["payment_intent"],
                             kind="payment_intent"))


def _assert_stripe_shaped(obj: dict, name: str) -> None:
    assert obj["object"] == name
    assert shape_differences(obj, name) == []


def test_the_comparison_finds_what_differs_from_stripes_objects():
    """The yardstick itself: Stripe's own example passes, and each kind of difference is caught."""
    session = stripe_object("checkout.session")
    assert shape_differences(session, "checkout.session") == []

    del session["customer_creation"]
    session.update(ui_mode="hosted", livemode=None, amount_total="3999", invented=1)
    session["automatic_tax"]["enabled"] = "no"

    assert shape_differences(session, "checkout.session") == [
        "checkout.session.amount_total: string, Stripe's is integer or null",
        "checkout.session.automatic_tax.enabled: string, Stripe's is boolean",
        "checkout.session.customer_creation: missing",
        "checkout.session.invented: not a field of Stripe's",
        "checkout.session.livemode: null, which Stripe never sends",
        "checkout.session.ui_mode: 'hosted' is not one of Stripe's values "
        "['elements', 'embedded_page', 'form', 'hosted_page']",
    ]


def test_checkout_sessions_in_every_state(session, webhooks):
    opened = stripe_session_create(session)
    _assert_stripe_shaped(_session(opened.id), "checkout.session")
    assert _session(opened.id)["ui_mode"] == "hosted_page"

    hosted.decline(opened.id)
    hosted.pay(opened.id)
    paid = _session(opened.id)
    _assert_stripe_shaped(paid, "checkout.session")
    assert paid["customer_details"]["email"] == session.user.email

    for event_object in _events("checkout.session.completed"):
        _assert_stripe_shaped(event_object, "checkout.session")


@pytest.mark.parametrize("ending", ["expired", "pay later", "bank debit settled", "bank debit failed"])
def test_checkout_sessions_that_end_otherwise(session, ending):
    opened = stripe_session_create(session)
    if ending == "expired":
        gateway.checkout_session_expire(stripe_session_id=opened.id)
    else:
        hosted.pay_later(opened.id)
        if ending != "pay later":
            hosted.settle(opened.id, succeeded=ending == "bank debit settled")

    _assert_stripe_shaped(_session(opened.id), "checkout.session")
    if ending != "expired":
        _assert_stripe_shaped(_intent(opened.id), "payment_intent")
    for event_type in ("checkout.session.expired", "checkout.session.completed",
                       "checkout.session.async_payment_succeeded", "checkout.session.async_payment_failed"):
        for event_object in _events(event_type):
            _assert_stripe_shaped(event_object, "checkout.session")


def test_payment_intents_declined_and_paid(session):
    opened = stripe_session_create(session)
    hosted.decline(opened.id)
    [declined] = _events("payment_intent.payment_failed")
    hosted.pay(opened.id)

    _assert_stripe_shaped(declined, "payment_intent")
    assert declined["last_payment_error"]["code"] == "card_declined"
    paid = _intent(opened.id)
    _assert_stripe_shaped(paid, "payment_intent")
    assert (paid["status"], paid["payment_method"]) == ("succeeded", declined["payment_method"])


def test_refunds_and_the_charges_they_refund(session):
    opened = stripe_session_create(session)
    hosted.pay(opened.id)
    intent = _intent(opened.id)

    status, refund = _post_refund({"payment_intent": intent["id"], "amount": "1000"})

    assert status == 200
    _assert_stripe_shaped(refund, "refund")
    [charge] = _events("charge.refunded")
    _assert_stripe_shaped(charge, "charge")
    assert (charge["amount_refunded"], charge["payment_intent"]) == (1000, intent["id"])
    assert refund["payment_method"] == charge["payment_method"] == intent["payment_method"]


def _post_refund(params: dict) -> tuple[int, dict]:
    return api.handle("post", "/v1/refunds", params, idempotency_key=None)
