"""The demo hosted checkout page: only in demo mode, and every button does what Stripe would."""

import pytest
from django.urls import reverse

from checkout.models import CheckoutSession, WebhookEvent
from tests.payments import pay_points_checkout
from wallet.models import LedgerEntry
from wallet.services import points_purchase_start


@pytest.fixture
def stripe_url(shopper, package):
    session = points_purchase_start(user=shopper, package=package).session
    return pay_points_checkout(session_id=session.pk, user=shopper, base_url="http://testserver")


def test_the_demo_page_does_not_exist_outside_demo_mode(client, settings, stripe_url):
    settings.STRIPE_MODE = "stripe"

    assert client.get(stripe_url).status_code == 404
    assert client.post(stripe_url, {"action": "pay"}).status_code == 404


def test_an_unknown_session_is_not_found(client, db):
    assert client.get(reverse("stripe_fake:hosted", args=["cs_test_unknown"])).status_code == 404


def test_an_unknown_action_changes_nothing(client, stripe_url):
    response = client.post(stripe_url, {"action": "steal"})

    assert response.status_code == 400 and b"Unknown action" in response.content
    assert CheckoutSession.objects.get().status == "active"


def test_paying_twice_is_refused_the_second_time(client, stripe_url, webhooks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(stripe_url, {"action": "pay"})
        second = client.post(stripe_url, {"action": "pay"})

    assert first.status_code == 302
    assert second.status_code == 409 and b"is complete: nothing was done" in second.content
    assert webhooks == [("checkout.session.completed", 200)]
    assert LedgerEntry.objects.count() == 1


def test_settling_needs_a_pending_bank_debit(client, stripe_url):
    response = client.post(stripe_url, {"action": "settle"})

    assert response.status_code == 409


def test_resend_delivers_the_same_event_again_and_changes_nothing(client, stripe_url, webhooks,
                                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(stripe_url, {"action": "pay"})
    page = client.get(stripe_url)
    assert b"checkout.session.completed" in page.content
    event_id = WebhookEvent.objects.get().event_id

    resent = client.post(stripe_url, {"action": "resend", "event": event_id}, follow=True)

    assert b"The event was sent again." in resent.content
    assert webhooks == [("checkout.session.completed", 200)] * 2
    assert WebhookEvent.objects.count() == 1 and LedgerEntry.objects.count() == 1
