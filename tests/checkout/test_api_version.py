"""The pinned Stripe API version: sent with every call, recorded with every event, and events of another version
are flagged (log and admin) but still processed."""

import logging

import pytest
import stripe
from django.conf import settings as django_settings
from django.urls import reverse

from checkout import gateway
from checkout.models import WebhookEvent
from stripe_fake import hosted
from stripe_fake.transport import FakeStripeHTTPClient
from tests.payments import paying_session, stripe_session_create
from tests.stripe_events import post_event, stripe_event
from wallet.selectors import wallet_balance

OTHER_VERSION = "2024-06-20"
EVENTS = "admin:checkout_webhookevent_changelist"


@pytest.fixture
def versions_sent(monkeypatch):
    """The ``Stripe-Version`` header of every request stripe-python sends, in order."""
    sent = []
    answer = FakeStripeHTTPClient.request

    def request(self, method, url, headers, post_data=None, **kwargs):
        sent.append(dict(headers).get("Stripe-Version"))
        return answer(self, method, url, headers, post_data, **kwargs)

    monkeypatch.setattr(FakeStripeHTTPClient, "request", request)
    return sent


def test_by_default_the_pinned_version_is_the_one_stripe_python_was_made_for():
    assert django_settings.STRIPE_API_VERSION == stripe.api_version


def test_every_call_sends_the_configured_version(settings, session, versions_sent):
    settings.STRIPE_API_VERSION = "2025-03-31.basil"

    created = stripe_session_create(session)
    gateway.checkout_session_retrieve(stripe_session_id=created.id)
    hosted.pay(created.id)
    intent = gateway.checkout_session_retrieve(stripe_session_id=created.id).payment_intent
    gateway.refund_create(payment_intent_id=intent, idempotency_key="refund-version", amount_cents=100)
    gateway.checkout_session_expire(stripe_session_id=created.id)  # refused (complete), then retrieved

    assert len(versions_sent) == 6
    assert set(versions_sent) == {"2025-03-31.basil"}


def _completed(session, *, api_version: str) -> dict:
    completed = hosted.pay(session.stripe_session_id)
    return {**stripe_event("checkout.session.completed", {k: v for k, v in completed.items() if k[0] != "_"}),
            "api_version": api_version}


def test_an_event_of_the_pinned_version_is_recorded_without_a_warning(client, shopper, package, caplog):
    event = _completed(paying_session(shopper, package), api_version=django_settings.STRIPE_API_VERSION)

    with caplog.at_level(logging.WARNING, logger="checkout.services.webhooks"):
        assert post_event(client, event).json()["status"] == "processed"

    assert WebhookEvent.objects.get().api_version == django_settings.STRIPE_API_VERSION
    assert "API version" not in caplog.text


def test_an_event_of_another_version_is_processed_logged_and_recorded(client, shopper, package, caplog):
    event = _completed(paying_session(shopper, package), api_version=OTHER_VERSION)

    with caplog.at_level(logging.WARNING, logger="checkout.services.webhooks"):
        first, replay = post_event(client, event), post_event(client, event)

    assert (first.json()["status"], replay.json()["status"]) == ("processed", "processed")
    assert wallet_balance(user=shopper).current == 550
    assert WebhookEvent.objects.get().api_version == OTHER_VERSION
    warnings = [record for record in caplog.records if "API version" in record.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING  # once, not for the replay
    assert OTHER_VERSION in warnings[0].getMessage() and django_settings.STRIPE_API_VERSION in warnings[0].getMessage()


def test_the_admin_flags_and_filters_events_of_another_version(staff_client, db):
    pinned = stripe_event("price.created", {"id": "price_pinned", "object": "price"})
    other = {**stripe_event("price.created", {"id": "price_other", "object": "price"}), "api_version": OTHER_VERSION}
    for event in (pinned, other):
        post_event(staff_client, event)

    everything = staff_client.get(reverse(EVENTS)).content.decode()
    only_other = staff_client.get(reverse(EVENTS), {"api_version": "other"}).content.decode()
    only_pinned = staff_client.get(reverse(EVENTS), {"api_version": "pinned"}).content.decode()

    assert pinned["id"] in everything and other["id"] in everything
    assert f"{OTHER_VERSION} (not the pinned {django_settings.STRIPE_API_VERSION})" in everything
    assert other["id"] in only_other and pinned["id"] not in only_other
    assert pinned["id"] in only_pinned and other["id"] not in only_pinned
