import json

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from stripe import WebhookSignature

from checkout.fake_stripe import FakeStripeHTTPClient
from tests.checkout import delivery
from tests.factories import PointsPackageFactory

WEBHOOK_URL = "/webhooks/stripe/"


@pytest.fixture(autouse=True)
def fake_stripe():
    """The fake Stripe's failure switches, cleared around every test (its data lives in the test database)."""
    FakeStripeHTTPClient.reset()
    yield FakeStripeHTTPClient
    FakeStripeHTTPClient.reset()


@pytest.fixture
def package(db):
    return PointsPackageFactory(name="Premium", points=550, price_cents=3999)


@pytest.fixture
def other_package(db):
    return PointsPackageFactory(name="Basic", points=100, price_cents=999)


@pytest.fixture
def webhooks(settings):
    """Deliver the fake Stripe's events through the test client; yields [(event type, HTTP status), ...]."""
    settings.STRIPE_DEMO_WEBHOOK_DELIVERY = "tests.checkout.delivery.deliver_through_test_client"
    delivery.DELIVERED.clear()
    yield delivery.DELIVERED
    delivery.DELIVERED.clear()


def sign(payload: str, *, secret: str | None = None, timestamp: int | None = None) -> str:
    return WebhookSignature.generate_signature_header(payload, secret or django_settings.STRIPE_WEBHOOK_SECRET,
                                                      timestamp=timestamp)


def post_event(client, event: dict, **signing):
    payload = json.dumps(event)
    return client.post(WEBHOOK_URL, data=payload, content_type="application/json",
                       headers={"Stripe-Signature": sign(payload, **signing)})


def start_url():
    return reverse("checkout:start")
