"""The code path production uses: stripe-python's default HTTP client (RequestsClient, no STRIPE_HTTP_CLIENT) over
real HTTP on loopback, to the fake Stripe served by ``stripe_fake.server``. Creating, retrieving and expiring a
session and refunding its payment run end to end, through timeouts and network retries that reuse the request's
idempotency key: a retry returns the object the first attempt made, never a second one."""

import pytest
from django.conf import settings as django_settings

from checkout import gateway
from checkout.models import CheckoutSession
from checkout.services import checkout_session_reconcile
from stripe_fake import hosted
from stripe_fake.models import FakeStripeObject
from stripe_fake.server import FakeStripeServer
from tests.factories import PointsPackageFactory, UserFactory
from tests.payments import pay_points_checkout, stripe_session_create
from wallet.selectors import wallet_balance
from wallet.services import points_purchase_start

TIMEOUT_SECONDS = 1


@pytest.fixture
def stripe_over_http(transactional_db, settings, held_webhooks):
    """The shop's Stripe client as in production, pointed at the fake served over HTTP."""
    with FakeStripeServer(lost_response_seconds=TIMEOUT_SECONDS + 1) as server:
        settings.STRIPE_HTTP_CLIENT = ""
        settings.STRIPE_API_BASE = server.base_url
        # these tests call Stripe outside Celery tasks: the web bounds apply (checkout.gateway.stripe_bounds)
        settings.STRIPE_WEB_TIMEOUT_SECONDS = TIMEOUT_SECONDS
        settings.STRIPE_WEB_MAX_NETWORK_RETRIES = 2
        yield server


def _fake(kind: str) -> list[dict]:
    return [row.data for row in FakeStripeObject.objects.filter(kind=kind)]


def test_a_payment_and_its_refund_survive_a_lost_answer_a_dropped_connection_and_a_500(stripe_over_http,
                                                                                     fake_stripe):
    server = stripe_over_http
    shopper, package = UserFactory(), PointsPackageFactory(points=550, price_cents=3999)
    session = points_purchase_start(user=shopper, package=package).session

    # Stripe makes the session, but its answer never arrives: the client times out and retries with the same key
    fake_stripe.fail("lost_response", method="post", path="/v1/checkout/sessions")
    url = pay_points_checkout(session_id=session.pk, user=shopper)

    [made] = _fake("checkout.session")
    session.refresh_from_db()
    assert session.stripe_session_id == made["id"] and url.endswith(f"/demo-stripe/{made['id']}/")
    creates = [seen for seen in server.requests if seen.path == "/v1/checkout/sessions"]
    assert [seen.idempotency_key for seen in creates] == [str(session.pk)] * 2

    # the shopper pays; the webhook is lost and reconcile asks Stripe, through a dropped connection
    hosted.pay(made["id"])
    fake_stripe.fail("connection", method="get", path=f"/v1/checkout/sessions/{made['id']}")
    assert checkout_session_reconcile(session=session).value == "credited"
    assert wallet_balance(user=shopper).current == 550

    # a refund answered 500 the first time, then one whose answer is lost: each is made once
    intent = CheckoutSession.objects.get(pk=session.pk).stripe_payment_intent_id
    fake_stripe.fail("server_error", method="post", path="/v1/refunds")
    first = gateway.refund_create(payment_intent_id=intent, idempotency_key="refund-over-http-1", amount_cents=1000)
    fake_stripe.fail("lost_response", method="post", path="/v1/refunds")
    second = gateway.refund_create(payment_intent_id=intent, idempotency_key="refund-over-http-2", amount_cents=500)

    assert sorted(refund["id"] for refund in _fake("refund")) == sorted([first.id, second.id])
    assert (first.amount, second.amount) == (1000, 500)
    [charge] = _fake("charge")
    assert charge["amount_refunded"] == 1500
    refunds = [seen.idempotency_key for seen in server.requests if seen.path == "/v1/refunds"]
    assert refunds == ["refund-over-http-1"] * 2 + ["refund-over-http-2"] * 2


def test_a_session_is_retrieved_and_expired_over_http(stripe_over_http, fake_stripe):
    server = stripe_over_http
    session = points_purchase_start(user=UserFactory(), package=PointsPackageFactory()).session
    created = stripe_session_create(session)

    fake_stripe.fail("connection", method="post", path=f"/v1/checkout/sessions/{created.id}/expire")
    expired = gateway.checkout_session_expire(stripe_session_id=created.id)
    retrieved = gateway.checkout_session_retrieve(stripe_session_id=created.id)

    assert (expired.id, expired.status, retrieved.status) == (created.id, "expired", "expired")
    expiries = [seen for seen in server.requests if seen.path.endswith("/expire")]
    assert len(expiries) == 2 and expiries[0].idempotency_key == expiries[1].idempotency_key is not None
    assert [seen.method for seen in server.requests] == ["post", "post", "post", "get"]
    assert {seen.stripe_version for seen in server.requests} == {django_settings.STRIPE_API_VERSION}


def test_when_every_attempt_times_out_the_shopper_is_told_to_try_again(stripe_over_http, fake_stripe):
    server = stripe_over_http
    session = points_purchase_start(user=UserFactory(), package=PointsPackageFactory()).session
    fake_stripe.fail("lost_response", method="post", path="/v1/checkout/sessions", times=3)

    with pytest.raises(gateway.PaymentProviderError) as failed:
        stripe_session_create(session)

    assert failed.value.retryable and "could not reach our payment provider" in failed.value.user_message
    assert len(server.requests) == 3  # the first try and STRIPE_WEB_MAX_NETWORK_RETRIES=2
    assert len(_fake("checkout.session")) == 1  # what Stripe made is found again by the next try's key
    assert stripe_session_create(session).id == _fake("checkout.session")[0]["id"]
