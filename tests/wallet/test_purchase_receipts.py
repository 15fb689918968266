"""A points package bought by card gets a receipt: HTML and text, the package, its points (with thousands
separators), the amount paid, how, and a link to the wallet on SITE_URL; queued when the payment commits, once."""

import pytest
from django.core import mail
from django.urls import reverse

from checkout.models import CheckoutSession
from tests.factories import PointsPackageFactory
from tests.payments import start_url
from wallet.services.receipts import points_purchase_send_receipt
from wallet.tasks import send_points_purchase_receipt


@pytest.fixture
def queued(monkeypatch):
    ids = []
    monkeypatch.setattr(send_points_purchase_receipt, "delay", ids.append)
    return ids


def buy(client, package, capture):
    client.post(start_url(), {"package": package.pk})
    session = CheckoutSession.objects.get(status="active")
    stripe_url = client.post(reverse("points:pay", args=[session.pk]))["Location"]
    with capture(execute=True):
        client.post(stripe_url, {"action": "pay"})
    return session


def test_a_paid_package_is_receipted_once(shopper_client, shopper, webhooks, queued, settings,
                                          django_capture_on_commit_callbacks):
    settings.SITE_URL = "https://points.example.com"
    package = PointsPackageFactory(name="Mega", points=12000, price_cents=109999)

    session = buy(shopper_client, package, django_capture_on_commit_callbacks)

    assert queued == [str(session.pk)]
    send_points_purchase_receipt(queued[0])
    send_points_purchase_receipt(queued[0])  # delivered twice: one mail
    [message] = mail.outbox
    [(html, _)] = message.alternatives
    assert message.to == [shopper.email] and "12,000 points" in message.subject
    for part in (message.body, html):
        assert "Mega" in part and "12,000 points" in part and "$1,099.99" in part
        assert "Card, through Stripe" in part and str(session.pk)[:8].upper() in part
        assert "https://points.example.com/wallet/" in part


def test_no_receipt_for_an_unpaid_package(shopper, package):
    from wallet.services import points_purchase_start

    session = points_purchase_start(user=shopper, package=package).session

    assert points_purchase_send_receipt(session_id=session.pk) is False
    assert mail.outbox == []


def test_a_failed_send_releases_the_claim_for_the_retry(shopper_client, webhooks, queued, settings,
                                                         django_capture_on_commit_callbacks, package):
    session = buy(shopper_client, package, django_capture_on_commit_callbacks)
    settings.EMAIL_BACKEND = "tests.orders.failing_mail.Backend"

    with pytest.raises(OSError):
        send_points_purchase_receipt(queued[0])

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert points_purchase_send_receipt(session_id=session.pk) is True
    assert len(mail.outbox) == 1
