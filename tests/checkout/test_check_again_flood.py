"""A flood of "check again" on a pending payment: the rate limit refuses most requests with 429, the rest queue at
most one check per session, and Stripe is asked a bounded number of times -- never from a web request."""

import uuid

import pytest
from django.urls import reverse

from checkout.tasks import check_with_stripe
from orders.models import Order
from orders.services.cart import cart_add
from stripe_fake import hosted
from tests.factories import ProductFactory
from tests.payments import paying_session

HTMX = {"HX-Request": "true"}
FLOOD = 30


@pytest.fixture
def limited(settings):
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMIT_CACHE_PREFIX = f"rl-test-{uuid.uuid4().hex}:"  # counters of this test's own


def _flood(client, url, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        statuses = [client.post(url, headers=HTMX).status_code for _ in range(FLOOD)]
    return statuses, queued


def test_a_flood_on_the_points_result_page(shopper_client, shopper, package, fake_stripe, limited, settings,
                                           django_capture_on_commit_callbacks):
    session = paying_session(shopper, package)
    hosted.pay(session.stripe_session_id)
    fake_stripe.reset()
    allowed = int(settings.RATE_LIMITS["points:check"][0][1].split("/")[0])

    statuses, queued = _flood(shopper_client, reverse("points:check", args=[session.pk]),
                              django_capture_on_commit_callbacks)

    assert statuses.count(200) == allowed and statuses.count(429) == FLOOD - allowed
    assert list(fake_stripe.requests_seen) == []  # no web request called Stripe
    assert len(queued) == 1  # one check queued for the session, whatever the number of requests
    check_with_stripe.apply(args=[str(session.pk)])  # as a worker runs it
    assert len(fake_stripe.requests_seen) == 1


def test_a_flood_on_a_pending_card_order_while_stripe_fails(shopper_client, shopper, fake_stripe, limited,
                                                            settings, django_capture_on_commit_callbacks):
    cart_add(user=shopper, product_id=ProductFactory().pk)
    shopper_client.post(reverse("orders:pay_by_card"), {"checkout_token": str(uuid.uuid4())})
    order = Order.objects.get()
    fake_stripe.reset()
    fake_stripe.fail("server_error", times=1000)
    attempts_per_call = settings.STRIPE_MAX_NETWORK_RETRIES + 1

    statuses, queued = _flood(shopper_client, reverse("orders:check", args=[order.pk]),
                              django_capture_on_commit_callbacks)
    assert 429 in statuses and len(queued) == 1
    check_with_stripe.apply(args=[str(order.checkout_session_id)])  # as a worker runs it: the tasks' bounds
    # a second flood right after the failed check queues nothing: the interval between checks holds while
    # Stripe is failing too
    settings.RATELIMIT_CACHE_PREFIX += "again:"
    _statuses, queued_again = _flood(shopper_client, reverse("orders:check", args=[order.pk]),
                                     django_capture_on_commit_callbacks)

    assert queued_again == []
    assert len(fake_stripe.requests_seen) == attempts_per_call  # one check, with stripe-python's bounded retries
    page = shopper_client.get(reverse("orders:detail", args=[order.pk]), headers=HTMX)
    assert b"having trouble right now" in page.content
    assert Order.objects.get().status == "pending"
