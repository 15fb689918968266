"""A points package whose payment is disputed: its unspent points held back (never below a zero balance, the
shortfall recorded for staff), exactly those given back when the dispute is won, kept when it is lost -- through
the real webhook view, in any order of Stripe's events."""

import html

import pytest
from django.urls import reverse

from checkout.models import Dispute
from stripe_fake import hosted
from stripe_fake.events import public
from stripe_fake.models import FakeStripeObject
from tests.disputes import dispute_event
from tests.factories import give_points
from tests.payments import pay_points_checkout
from tests.stripe_events import post_event
from tests.wallet.helpers import assert_audit_passes
from wallet.models import LedgerEntry, PointsPurchase
from wallet.selectors import wallet_balance
from wallet.services import points_purchase_start, wallet_spend

HOLD, RELEASE = "stripe:dispute:dp_test_1:hold", "stripe:dispute:dp_test_1:release"


@pytest.fixture
def purchase(client, shopper, package):
    """550 points bought for $39.99 and credited by the signed checkout.session.completed."""
    session = points_purchase_start(user=shopper, package=package).session
    pay_points_checkout(session_id=session.pk, user=shopper, base_url="http://testserver")
    session.refresh_from_db()
    hosted.pay(session.stripe_session_id)
    [completed] = [public(row.data) for row in FakeStripeObject.objects.filter(
        kind="event", data__type="checkout.session.completed")]
    assert post_event(client, completed).json()["status"] == "processed"
    session.refresh_from_db()
    assert wallet_balance(user=shopper).current == 550
    return session


def _dispute(session, kind: str, status: str) -> dict:
    return dispute_event(kind, payment_intent=session.stripe_payment_intent_id, amount=session.amount_cents,
                         status=status)


def _deliver(client, *events):
    for event in events:
        assert post_event(client, event).json()["status"] == "processed"


def _spend(shopper, points: int):
    wallet_spend(user=shopper, points=points, idempotency_key=f"test-spend-{points}", description="A picture")


def _balance(shopper) -> int:
    return wallet_balance(user=shopper).current


def _entries(key: str) -> list[tuple[str, int]]:
    return list(LedgerEntry.objects.filter(idempotency_key=key).values_list("kind", "amount"))


def _held(session) -> tuple[int, int]:
    purchase = PointsPurchase.objects.get(pk=session.pk)
    return purchase.dispute_held_points, purchase.dispute_shortfall_points


def test_unspent_points_are_held_back_and_exactly_those_come_back_when_the_dispute_is_won(client, shopper, purchase):
    _deliver(client, _dispute(purchase, "created", "needs_response"),
             _dispute(purchase, "created", "needs_response"))  # a second delivery of the news

    hold = LedgerEntry.objects.get(idempotency_key=HOLD)
    assert (hold.kind, hold.amount, hold.reverses.idempotency_key) == (
        "reversal", -550, f"stripe:checkout:{purchase.stripe_session_id}")
    assert "held back while the payment for Premium is disputed" in hold.description
    assert _balance(shopper) == 0 and _held(purchase) == (550, 0)

    # the shopper gets other points meanwhile: the win gives back what was held, no more, no less
    give_points(shopper, 200)
    _deliver(client, _dispute(purchase, "closed", "won"), _dispute(purchase, "closed", "won"))

    assert _entries(RELEASE) == [("adjustment", 550)]
    assert _balance(shopper) == 750
    assert Dispute.objects.get().seller_note == "dispute won: 550 points given back"
    assert_audit_passes()


def test_points_already_spent_are_the_shortfall_and_the_balance_never_goes_negative(
        client, shopper, purchase, staff_client):
    _spend(shopper, 400)

    _deliver(client, _dispute(purchase, "created", "needs_response"))

    assert _entries(HOLD) == [("reversal", -150)]
    assert _balance(shopper) == 0 and _held(purchase) == (150, 400)
    note = Dispute.objects.get().seller_note
    assert note == "150 of the package's 550 points held back; 400 already spent (not held: shortfall)"
    purchase_page = staff_client.get(reverse("admin:wallet_pointspurchase_change", args=[purchase.pk]))
    assert note in html.unescape(purchase_page.content.decode())

    _deliver(client, _dispute(purchase, "closed", "won"))

    assert _entries(RELEASE) == [("adjustment", 150)]
    assert _balance(shopper) == 150
    assert_audit_passes()


def test_a_lost_dispute_keeps_the_hold(client, shopper, purchase):
    _spend(shopper, 50)

    _deliver(client, _dispute(purchase, "created", "needs_response"), _dispute(purchase, "closed", "lost"),
             _dispute(purchase, "updated", "under_review"), _dispute(purchase, "funds_reinstated", "needs_response"))

    assert _entries(HOLD) == [("reversal", -500)] and _entries(RELEASE) == []
    assert _balance(shopper) == 0
    assert Dispute.objects.get().seller_note == ("dispute lost: the 500 points held back stay taken back; 50 had been "
                                                 "spent")
    assert_audit_passes()


def test_with_every_point_spent_nothing_is_held_and_nothing_given_back(client, shopper, purchase):
    _spend(shopper, 550)

    _deliver(client, _dispute(purchase, "created", "needs_response"), _dispute(purchase, "closed", "won"))

    assert _entries(HOLD) == [] and _entries(RELEASE) == []
    assert _balance(shopper) == 0 and _held(purchase) == (0, 550)


@pytest.mark.parametrize("won", [True, False], ids=["won", "lost"])
def test_a_close_delivered_before_the_creation_holds_and_settles_once(client, shopper, purchase, won):
    _spend(shopper, 100)

    _deliver(client, _dispute(purchase, "closed", "won" if won else "lost"),
             _dispute(purchase, "created", "needs_response"), _dispute(purchase, "updated", "under_review"))

    assert _entries(HOLD) == [("reversal", -450)]
    assert _entries(RELEASE) == ([("adjustment", 450)] if won else [])
    assert _balance(shopper) == (450 if won else 0)
    assert_audit_passes()


def test_a_disputed_purchase_cannot_also_be_refunded_until_the_dispute_is_won(client, shopper, purchase, staff):
    from checkout.errors import RefundRefused
    from checkout.services.refunds import checkout_session_refund

    _deliver(client, _dispute(purchase, "created", "needs_response"))
    with pytest.raises(RefundRefused, match="disputed"):
        checkout_session_refund(session_id=purchase.pk, staff_user=staff, reason="asked")
    assert not purchase.refunds.exists()

    _deliver(client, _dispute(purchase, "closed", "won"))
    assert _balance(shopper) == 550
    refund = checkout_session_refund(session_id=purchase.pk, staff_user=staff, reason="asked after the dispute")

    # the points the won dispute gave back are taken back by the refund, like any purchase's
    assert refund.status in ("pending", "succeeded") and _balance(shopper) == 0
    assert_audit_passes()


def test_a_dispute_after_a_failed_refund_holds_the_points_the_failure_gave_back(client, shopper, purchase, staff):
    from checkout.services.refunds import checkout_session_refund
    from stripe_fake import refunds as fake_refunds

    fake_refunds.refund_outcome_set(purchase.stripe_payment_intent_id, "failed")
    refund = checkout_session_refund(session_id=purchase.pk, staff_user=staff, reason="asked")
    fake_refunds.refund_settle(refund.stripe_refund_id, "failed")
    for event in FakeStripeObject.objects.filter(kind="event", data__type="refund.failed"):
        post_event(client, public(event.data))
    assert _balance(shopper) == 550  # the failed refund gave the points back

    _deliver(client, _dispute(purchase, "created", "needs_response"))

    assert _balance(shopper) == 0
    assert PointsPurchase.objects.get(pk=purchase.pk).dispute_held_points == 550
    assert_audit_passes()
