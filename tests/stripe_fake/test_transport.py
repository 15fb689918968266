"""The fake's HTTP transport under stripe-python's real client, through the shop's gateway."""

import pytest

from checkout.gateway import PaymentProviderError
from checkout.models import CheckoutSession
from stripe_fake.models import FakeStripeObject
from tests.payments import stripe_session_create


def test_a_live_key_is_refused_by_the_fake(settings, session):
    settings.STRIPE_SECRET_KEY = "sk_live_" + "x" * 24

    with pytest.raises(PaymentProviderError) as refused:
        stripe_session_create(session)

    assert not refused.value.retryable


def test_the_fake_keeps_its_state_in_the_database(session):
    created = stripe_session_create(session)

    row = FakeStripeObject.objects.get(pk=created.id)
    assert row.kind == "checkout.session" and row.data["status"] == "open"
    assert CheckoutSession.objects.filter(pk=session.pk).exists()
