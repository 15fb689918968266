"""The gateway over stripe-python's real StripeClient, talking to the fake Stripe through its HTTP hook."""

from datetime import timedelta

import pytest
import stripe
import time_machine
from django.utils import timezone

from checkout import gateway
from checkout.gateway import PaymentProviderError
from stripe_fake.models import FakeStripeObject
from tests.payments import stripe_session_create
from tests.stripe_events import sign


def test_create_sends_a_stripe_shaped_request_and_returns_the_session(session):
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):  # the shopper read the review page first
        created = stripe_session_create(session)

    assert created.id.startswith("cs_test_") and created.status == "open" and created.payment_status == "unpaid"
    assert created.url == f"http://shop.test/demo-stripe/{created.id}/"
    assert (created.amount_total, created.currency) == (3999, "usd")
    assert created.client_reference_id == str(session.pk)
    assert created.metadata == {"checkout_session_id": str(session.pk), "kind": "points_package",
                                "user_id": str(session.user_id)}
    stored = FakeStripeObject.objects.get(pk=created.id).data
    # ours, inside Stripe's 30 min-24 h window: with the default 24 h lifetime, a clock margin earlier
    assert stored["expires_at"] == int((session.expires_at - timedelta(minutes=1)).timestamp())
    assert stored["_line_items"] == [{"name": "Premium", "description": "550 points", "unit_amount": 3999,
                                      "quantity": 1}]
    assert stored["_payment_intent_metadata"]["checkout_session_id"] == str(session.pk)


def test_create_is_idempotent_on_our_session_id(session, fake_stripe):
    first = stripe_session_create(session)
    second = stripe_session_create(session)

    assert first.id == second.id
    assert FakeStripeObject.objects.filter(kind="checkout.session").count() == 1
    assert [path for method, path in fake_stripe.requests_seen] == ["/v1/checkout/sessions"] * 2


def test_the_same_key_with_other_parameters_is_refused_like_stripe_does(session):
    stripe_session_create(session)
    session.amount_cents = 1

    with pytest.raises(PaymentProviderError) as refused:
        stripe_session_create(session)

    assert isinstance(refused.value.__cause__, stripe.IdempotencyError)
    assert refused.value.session_unusable


@pytest.mark.parametrize("ttl, expected", [
    (timedelta(minutes=5), timedelta(minutes=31)),  # Stripe's minimum is 30 minutes (plus a clock margin)
    (timedelta(hours=48), timedelta(hours=23, minutes=59)),  # and its maximum 24 hours
])
def test_expires_at_is_clamped_into_stripes_window(session, ttl, expected):
    now = timezone.now()
    session.created_at, session.expires_at = now, now + ttl

    assert gateway.stripe_expires_at(expires_at=session.expires_at, created_at=now, now=now) == int(
        (now + expected).timestamp())
    assert stripe_session_create(session, now=now).status == "open"  # and the (fake) Stripe accepts it


@pytest.mark.parametrize("ttl", [timedelta(hours=24), timedelta(hours=48), timedelta(hours=2)])
def test_a_retry_minutes_later_sends_the_same_request_and_gets_the_same_session(session, ttl):
    """The idempotency key is our session's id: Stripe answers a key sent again with other parameters with an
    idempotency_error, so every parameter -- expires_at included -- must not depend on when the call is made."""
    session.expires_at = session.created_at + ttl
    first = stripe_session_create(session, now=session.created_at + timedelta(seconds=5))

    with time_machine.travel(session.created_at + timedelta(minutes=7)):
        again = stripe_session_create(session)

    assert again.id == first.id


def test_a_lost_response_is_retried_with_the_same_key_and_creates_one_session(session, fake_stripe):
    fake_stripe.fail("lost_response", method="post", path="/v1/checkout/sessions")

    created = stripe_session_create(session)

    assert FakeStripeObject.objects.filter(kind="checkout.session").get().pk == created.id
    assert len(fake_stripe.requests_seen) == 2


@pytest.mark.parametrize("fault, cause", [("server_error", stripe.APIError), ("connection", stripe.APIConnectionError)])
def test_persistent_failures_become_a_message_after_stripes_own_retries(session, fake_stripe, fault, cause):
    fake_stripe.fail(fault, times=10)

    with pytest.raises(PaymentProviderError) as failed:
        stripe_session_create(session)

    assert isinstance(failed.value.__cause__, cause)
    assert "Nothing was charged" in failed.value.user_message and failed.value.retryable
    assert len(fake_stripe.requests_seen) == 2  # the first try and a web request's one retry
    assert not FakeStripeObject.objects.filter(kind="checkout.session").exists()


def test_retrieve_and_expire(session):
    created = stripe_session_create(session)

    assert gateway.checkout_session_retrieve(stripe_session_id=created.id).status == "open"
    expired = gateway.checkout_session_expire(stripe_session_id=created.id)
    assert expired.status == "expired" and expired.url == ""
    # expiring again is not an error: the session cannot be paid either way
    assert gateway.checkout_session_expire(stripe_session_id=created.id).status == "expired"


def test_retrieve_of_an_unknown_session_is_a_provider_error(db):
    with pytest.raises(PaymentProviderError) as missing:
        gateway.checkout_session_retrieve(stripe_session_id="cs_test_nope")

    assert isinstance(missing.value.__cause__, stripe.InvalidRequestError)


def test_a_session_past_its_expiry_is_expired_when_next_seen(session):
    created = stripe_session_create(session)

    with time_machine.travel(session.expires_at + timedelta(seconds=1), tick=False):
        seen = gateway.checkout_session_retrieve(stripe_session_id=created.id)

    assert seen.status == "expired"
    assert FakeStripeObject.objects.filter(kind="event", data__type="checkout.session.expired").count() == 1


def test_refunds_up_to_what_was_paid(session):
    from stripe_fake import hosted

    created = stripe_session_create(session)
    intent = hosted.pay(created.id)["payment_intent"]

    partial = gateway.refund_create(payment_intent_id=intent, amount_cents=1000, idempotency_key="refund-1")
    again = gateway.refund_create(payment_intent_id=intent, amount_cents=1000, idempotency_key="refund-1")
    rest = gateway.refund_create(payment_intent_id=intent, idempotency_key="refund-2")

    assert (partial.amount, partial.status, partial.payment_intent) == (1000, "pending", intent)
    assert again.id == partial.id  # same key: the same refund, not a second one
    assert rest.amount == 2999
    with pytest.raises(PaymentProviderError):
        gateway.refund_create(payment_intent_id=intent, idempotency_key="refund-3")


def test_webhook_signatures_are_checked_with_the_real_library(settings):
    payload = '{"id": "evt_test_1", "object": "event"}'

    event = gateway.webhook_payload_verify(payload=payload.encode(), signature=sign(payload))

    assert event == {"id": "evt_test_1", "object": "event"}
    with pytest.raises(stripe.SignatureVerificationError):
        gateway.webhook_payload_verify(payload=payload.encode(), signature=sign(payload, secret="whsec_other"))
    # and what the library's own construct_event makes of the same delivery agrees
    assert stripe.Webhook.construct_event(payload, sign(payload), settings.STRIPE_WEBHOOK_SECRET).id == "evt_test_1"


def test_web_requests_wait_for_stripe_less_than_tasks_and_both_worst_cases_are_bounded(settings):
    settings.STRIPE_WEB_TIMEOUT_SECONDS, settings.STRIPE_WEB_MAX_NETWORK_RETRIES = 8, 1
    settings.STRIPE_TIMEOUT_SECONDS, settings.STRIPE_MAX_NETWORK_RETRIES = 20, 2
    from config.celery import app

    @app.task
    def bounds_in_a_task():
        return gateway.stripe_bounds()

    web, task = gateway.stripe_bounds(), bounds_in_a_task.apply().get()

    assert (web.timeout_seconds, web.max_network_retries, web.worst_case_seconds) == (8, 1, 16.5)
    assert (task.timeout_seconds, task.max_network_retries, task.worst_case_seconds) == (20, 2, 61.5)
    assert web.worst_case_seconds < 30  # gunicorn's default worker timeout (the Procfile sets none)
    assert gateway.stripe_client() is not gateway._client(
        settings.STRIPE_HTTP_CLIENT, settings.STRIPE_SECRET_KEY, 2, 20, settings.STRIPE_API_VERSION, "")
