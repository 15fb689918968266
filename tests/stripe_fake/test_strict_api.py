"""The fake is as strict as Stripe: parameters an endpoint does not know are refused (400 ``parameter_unknown``,
nested keys included, as stripe-python's typed params list them), and idempotency keys expire after 24 hours."""

from datetime import timedelta

import pytest
import stripe
import time_machine
from django.utils import timezone

from checkout import gateway
from stripe_fake import hosted
from stripe_fake.models import FakeStripeObject
from tests.payments import SUCCESS, stripe_session_create


def _session_params(session) -> dict:
    return {"mode": "payment", "success_url": SUCCESS, "client_reference_id": str(session.pk),
            "line_items": [{"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 3999,
                                                          "product_data": {"name": "Premium"}}}]}


def _refused(call) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        call()
    assert refused.value.http_status == 400 and refused.value.code == "parameter_unknown"
    assert refused.value.user_message == f"Received unknown parameter: {refused.value.param}"
    return refused.value


@pytest.mark.parametrize("change, param", [
    (lambda params: params.update(colour="red"), "colour"),
    (lambda params: params["line_items"][0].update(colour="red"), "line_items[0][colour]"),
    (lambda params: params["line_items"][0]["price_data"]["product_data"].update(colour="red"),
     "line_items[0][price_data][product_data][colour]"),
    (lambda params: params.update(payment_intent_data={"metadata": {"any": "key"}, "colour": "red"}),
     "payment_intent_data[colour]"),
], ids=["top level", "in a line item", "in its product data", "in payment intent data"])
def test_a_checkout_session_with_an_unknown_parameter_is_refused_and_not_made(session, change, param):
    params = _session_params(session)
    change(params)

    refused = _refused(lambda: gateway.stripe_client().v1.checkout.sessions.create(params))

    assert refused.param == param
    assert not FakeStripeObject.objects.filter(kind="checkout.session").exists()


def test_metadata_keys_are_the_callers_own(session):
    params = {**_session_params(session), "metadata": {"anything": "goes", "colour": "red"}}

    created = gateway.stripe_client().v1.checkout.sessions.create(params)

    assert created.metadata.to_dict() == {"anything": "goes", "colour": "red"}


def test_unknown_parameters_are_refused_on_every_endpoint_the_shop_calls(session):
    created = stripe_session_create(session)
    client = gateway.stripe_client()

    assert _refused(lambda: client.v1.checkout.sessions.retrieve(created.id, {"colour": "red"})).param == "colour"
    assert _refused(lambda: client.v1.checkout.sessions.expire(created.id, {"colour": "red"})).param == "colour"
    hosted.pay(created.id)
    intent = gateway.checkout_session_retrieve(stripe_session_id=created.id).payment_intent
    assert _refused(lambda: client.v1.refunds.create({"payment_intent": intent, "colour": "red"})).param == "colour"
    assert not FakeStripeObject.objects.filter(kind="refund").exists()
    assert gateway.checkout_session_retrieve(stripe_session_id=created.id).status == "complete"


def test_a_refused_request_is_not_kept_under_its_idempotency_key(session):
    """Stripe keeps no result for a request that failed parameter validation: the corrected request may reuse
    the key."""
    client = gateway.stripe_client()
    options = {"idempotency_key": f"create-{session.pk}"}
    _refused(lambda: client.v1.checkout.sessions.create({**_session_params(session), "colour": "red"}, options))

    created = client.v1.checkout.sessions.create(_session_params(session), options)

    assert created.status == "open"


def test_the_shops_own_requests_are_all_accepted(session):
    created = stripe_session_create(session)
    hosted.pay(created.id)
    intent = gateway.checkout_session_retrieve(stripe_session_id=created.id).payment_intent

    refund = gateway.refund_create(payment_intent_id=intent, idempotency_key="all-known", amount_cents=100,
                                   metadata={"refund_id": "r1"})

    assert refund.status == "pending"  # as on Stripe; it settles after the request
    assert gateway.checkout_session_expire(stripe_session_id=created.id).status == "complete"


# --- idempotency keys expire after 24 hours ---------------------------------------------------------------------

@pytest.fixture
def paid_intent(session):
    created = stripe_session_create(session)
    hosted.pay(created.id)
    return gateway.checkout_session_retrieve(stripe_session_id=created.id).payment_intent


def test_a_key_is_replayed_for_24_hours_and_then_makes_a_new_request(paid_intent):
    start = timezone.now()

    def refund(after: timedelta, amount: int = 1000):
        with time_machine.travel(start + after, tick=False):
            return gateway.refund_create(payment_intent_id=paid_intent, idempotency_key="refund-k",
                                         amount_cents=amount)

    first = refund(timedelta(0))
    replayed = refund(timedelta(hours=23, minutes=59))
    other_parameters_too_soon = pytest.raises(gateway.PaymentProviderError)
    with other_parameters_too_soon:
        refund(timedelta(hours=23, minutes=59), amount=500)
    after_a_day = refund(timedelta(hours=24, seconds=1))
    other_parameters_later = refund(timedelta(hours=48, seconds=2), amount=500)

    assert replayed.id == first.id
    assert len({first.id, after_a_day.id, other_parameters_later.id}) == 3
    assert FakeStripeObject.objects.filter(kind="refund").count() == 3
    charge = FakeStripeObject.objects.get(kind="charge").data
    assert charge["amount_refunded"] == 2500
