"""A card order whose payment is disputed: downloads suspended while Stripe decides, back when the dispute is won,
off for good when it is lost -- through the real webhook view, in any order of Stripe's events."""

import uuid

import pytest
from django.urls import reverse

from checkout.models import CheckoutSession, Dispute
from orders.downloads import download_token
from orders.models import Order
from tests.disputes import dispute_event
from tests.factories import UserFactory
from tests.stripe_events import post_event

HTMX = {"HX-Request": "true"}


@pytest.fixture
def card_order(shopper_client, filled_cart, webhooks, django_capture_on_commit_callbacks):
    """The filled cart paid by card on the demo Stripe page, completed by the signed webhook."""
    shopper_client.post(reverse("orders:pay_by_card"), {"checkout_token": str(uuid.uuid4())})
    session = CheckoutSession.objects.get(kind="cart")
    with django_capture_on_commit_callbacks(execute=True):
        shopper_client.post(session.stripe_checkout_url, {"action": "pay"})
    order = Order.objects.get()
    assert order.status == "completed" and webhooks == [("checkout.session.completed", 200)]
    return order


def _dispute(order, kind: str, status: str) -> dict:
    return dispute_event(kind, payment_intent=order.stripe_payment_intent_id, amount=order.total_cents,
                         status=status)


def _deliver(client, *events):
    for event in events:
        assert post_event(client, event).json()["status"] == "processed"


def _download(client, order):
    token = download_token(item=order.items.first(), user_id=order.user_id)
    return client.get(reverse("orders:download", args=[token]))


def _page(client, order, **kwargs):
    return client.get(reverse("orders:detail", args=[order.pk]), **kwargs).content.decode()


def _history(order) -> list[str]:
    return [change.reason for change in order.status_changes.all() if "ispute" in change.reason]


def test_a_disputed_order_suspends_its_downloads_until_the_dispute_is_won(shopper_client, card_order):
    assert _download(shopper_client, card_order).status_code == 200

    # when: the cardholder's bank disputes the payment
    _deliver(shopper_client, _dispute(card_order, "created", "needs_response"))

    # then: the order is still paid, but marked disputed, and its downloads answer that they are suspended
    card_order.refresh_from_db()
    assert (card_order.status, card_order.dispute_status) == ("completed", "open")
    suspended = _download(shopper_client, card_order)
    assert suspended.status_code == 403
    assert "this purchase is under dispute" in suspended.content.decode()
    page = _page(shopper_client, card_order)
    assert "disputed with your bank, so its downloads" in page and "Download Harbour Lights" not in page
    assert "Download " not in _page(shopper_client, card_order, headers=HTMX)
    assert "Disputed" in shopper_client.get(reverse("orders:list")).content.decode()

    # when: Stripe decides in the shop's favour
    _deliver(shopper_client, _dispute(card_order, "closed", "won"))

    # then: the downloads are back
    card_order.refresh_from_db()
    assert (card_order.status, card_order.dispute_status) == ("completed", "won")
    assert _download(shopper_client, card_order).status_code == 200
    assert "Download Harbour Lights" in _page(shopper_client, card_order)
    assert len(_history(card_order)) == 2
    assert "downloads restored" in _history(card_order)[-1]


def test_a_lost_dispute_keeps_the_downloads_off_for_good(shopper_client, card_order):
    _deliver(shopper_client, _dispute(card_order, "created", "needs_response"),
             _dispute(card_order, "closed", "lost"),
             _dispute(card_order, "updated", "under_review"),  # after the close: changes nothing
             _dispute(card_order, "created", "needs_response"))

    card_order.refresh_from_db()
    assert (card_order.status, card_order.dispute_status) == ("completed", "lost")
    gone = _download(shopper_client, card_order)
    assert gone.status_code == 403 and "disputed with your bank and taken back" in gone.content.decode()
    assert "taken back by your bank" in _page(shopper_client, card_order)
    assert [reason.split(" (")[0] for reason in _history(card_order)] == [
        "The cardholder disputes the payment", "The dispute was lost"]
    assert Dispute.objects.get().outcome == "lost"


def test_a_close_delivered_before_the_creation_is_applied_once(shopper_client, card_order):
    _deliver(shopper_client, _dispute(card_order, "closed", "lost"), _dispute(card_order, "created", "needs_response"),
             _dispute(card_order, "funds_withdrawn", "needs_response"))

    card_order.refresh_from_db()
    assert card_order.dispute_status == "lost"
    assert len(_history(card_order)) == 2
    assert _download(shopper_client, card_order).status_code == 403


def test_an_update_after_a_won_dispute_does_not_suspend_again(shopper_client, card_order):
    _deliver(shopper_client, _dispute(card_order, "created", "needs_response"),
             _dispute(card_order, "closed", "won"), _dispute(card_order, "updated", "under_review"))

    card_order.refresh_from_db()
    assert card_order.dispute_status == "won"
    assert _download(shopper_client, card_order).status_code == 200


def test_another_shoppers_link_still_gives_nothing_away_about_the_dispute(client, card_order, shopper_client):
    _deliver(shopper_client, _dispute(card_order, "created", "needs_response"))
    token = download_token(item=card_order.items.first(), user_id=card_order.user_id)

    client.force_login(UserFactory())
    response = client.get(reverse("orders:download", args=[token]))

    assert response.status_code == 404 and b"dispute" not in response.content


def test_a_disputed_card_order_cannot_also_be_refunded(client, card_order, staff):
    from orders.errors import RefundRefused
    from orders.services.refunds import order_refund_stripe

    _deliver(client, _dispute(card_order, "created", "needs_response"))

    with pytest.raises(RefundRefused, match="disputed"):
        order_refund_stripe(order_id=card_order.pk, staff_user=staff, reason="asked")
    card_order.refresh_from_db()
    assert card_order.refunded_cents == 0 and not card_order.checkout_session.refunds.exists()
