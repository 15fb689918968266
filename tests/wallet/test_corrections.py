import pytest

from tests.factories import UserFactory
from tests.wallet.helpers import assert_audit_passes, credit, figures
from wallet.audit import wallet_audit
from wallet.models import LedgerEntry
from wallet.services.ledger import post_entry
from wallet.services import (
    IdempotencyConflict,
    InsufficientPoints,
    InvalidLedgerRequest,
    InvalidPoints,
    purchase_reversed_points,
    wallet_adjust,
    wallet_restore,
    wallet_reverse,
    wallet_spend,
)


@pytest.fixture
def purchase(shopper):
    return credit(shopper, 500, key="stripe:cs_9", stripe_object_id="cs_9", metadata={"package_name": "Basic"})


def test_reversing_a_refunded_purchase_takes_its_points_back(shopper, purchase):
    entry = wallet_reverse(entry=purchase, idempotency_key="stripe:re_1", reason="Card payment refunded",
                           stripe_object_id="re_1")

    assert (entry.amount, entry.kind, entry.balance_after, entry.reverses_id) == (-500, "reversal", 0, purchase.pk)
    stored = LedgerEntry.objects.get(pk=entry.pk)
    assert stored.reverses == purchase and stored.stripe_object_id == "re_1"
    assert stored.metadata["package_name"] == "Basic" and "Card payment refunded" in stored.description
    assert figures(shopper) == (0, 0, 0)
    assert_audit_passes()


def test_a_purchase_can_be_reversed_in_parts_but_never_beyond_it(shopper, purchase):
    wallet_reverse(entry=purchase, idempotency_key="re:a", reason="Partial refund", points=200)

    with pytest.raises(InvalidLedgerRequest, match="only 300 of its 500 remain"):
        wallet_reverse(entry=purchase, idempotency_key="re:b", reason="Too much", points=301)
    rest = wallet_reverse(entry=purchase, idempotency_key="re:c", reason="The rest")
    with pytest.raises(InvalidLedgerRequest, match="already been reversed in full"):
        wallet_reverse(entry=purchase, idempotency_key="re:d", reason="Again")

    assert rest.amount == -300
    assert figures(shopper) == (0, 0, 0)


def test_points_already_spent_cannot_be_reversed(shopper, purchase):
    wallet_spend(user=shopper, points=450, idempotency_key="order:1:pay", description="Order 1")

    with pytest.raises(InsufficientPoints) as refusal:
        wallet_reverse(entry=purchase, idempotency_key="re:1", reason="Refunded")

    assert "balance is 50" in str(refusal.value) and "reverse 500" in str(refusal.value)
    assert figures(shopper) == (50, 500, 450)
    assert LedgerEntry.objects.filter(kind="reversal").count() == 0


def test_a_replayed_reversal_returns_the_first_and_a_reused_key_conflicts(shopper, purchase):
    first = wallet_reverse(entry=purchase, idempotency_key="re:1", reason="Refunded")
    other_purchase = credit(shopper, 70)

    again = wallet_reverse(entry=purchase, idempotency_key="re:1", reason="Refunded (webhook again)")
    with pytest.raises(IdempotencyConflict):
        wallet_reverse(entry=other_purchase, idempotency_key="re:1", reason="Different purchase")

    assert again.pk == first.pk
    assert figures(shopper) == (70, 70, 0)


def test_only_purchases_can_be_reversed(shopper, purchase):
    spent = wallet_spend(user=shopper, points=10, idempotency_key="order:2:pay", description="Order 2")

    with pytest.raises(InvalidLedgerRequest, match="Only points purchases"):
        wallet_reverse(entry=spent, idempotency_key="re:2", reason="Nonsense")
    with pytest.raises(InvalidLedgerRequest, match="reason"):
        wallet_reverse(entry=purchase, idempotency_key="re:3", reason=" ")

    assert figures(shopper) == (490, 500, 10)


def test_staff_adjust_a_balance_up_and_down_with_a_reason(shopper, staff):
    up = wallet_adjust(user=shopper, points=120, reason="Goodwill for a broken download", staff_user=staff,
                       idempotency_key="adj:1")
    down = wallet_adjust(user=shopper, points=-20, reason="Granted twice by mistake", staff_user=staff,
                         idempotency_key="adj:2")

    assert (up.amount, up.kind, up.balance_after, up.created_by) == (120, "adjustment", 120, staff)
    stored = LedgerEntry.objects.get(pk=down.pk)
    assert (stored.amount, stored.balance_after, stored.created_by) == (-20, 100, staff)
    assert stored.metadata == {"reason": "Granted twice by mistake"}
    assert "Granted twice by mistake" in stored.description
    assert figures(shopper) == (100, 100, 0)
    assert_audit_passes()


def test_an_adjustment_never_takes_a_balance_below_zero(shopper, staff):
    credit(shopper, 30)

    with pytest.raises(InsufficientPoints, match="remove 31 points: the balance is 30 points"):
        wallet_adjust(user=shopper, points=-31, reason="Too much", staff_user=staff, idempotency_key="adj:3")

    assert figures(shopper) == (30, 30, 0)
    assert not LedgerEntry.objects.filter(kind="adjustment").exists()


@pytest.mark.parametrize("points, reason, make_staff, error", [
    (0, "Nothing", True, InvalidPoints),
    (10, "", True, InvalidLedgerRequest),
    (10, "   ", True, InvalidLedgerRequest),
    (10, "A shopper cannot grant points", False, InvalidLedgerRequest),
])
def test_an_adjustment_needs_points_a_reason_and_staff(shopper, staff, points, reason, make_staff, error):
    actor = staff if make_staff else UserFactory()

    with pytest.raises(error):
        wallet_adjust(user=shopper, points=points, reason=reason, staff_user=actor, idempotency_key="adj:4")

    assert figures(shopper) == (0, 0, 0)
    assert not LedgerEntry.objects.exists()


# --- points given back to a purchase whose refund failed ------------------------------------------------------

def test_points_given_back_to_a_purchase_can_be_reversed_again_and_the_audit_agrees(shopper, purchase):
    wallet_reverse(entry=purchase, idempotency_key="refund:1", reason="Refunded")
    with pytest.raises(InvalidLedgerRequest, match="already been reversed in full"):
        wallet_reverse(entry=purchase, idempotency_key="refund:2", reason="Refunded again")

    restored = wallet_restore(entry=purchase, points=500, idempotency_key="refund:1:failed", reason="Refund failed")
    replayed = wallet_restore(entry=purchase, points=500, idempotency_key="refund:1:failed", reason="Refund failed")
    with pytest.raises(InvalidLedgerRequest, match="only 0 are taken back"):
        wallet_restore(entry=purchase, points=1, idempotency_key="refund:1:failed-again", reason="Refund failed")
    again = wallet_reverse(entry=purchase, idempotency_key="refund:2", reason="Refunded again")

    assert replayed.pk == restored.pk and (restored.kind, restored.amount) == ("adjustment", 500)
    assert again.amount == -500 and purchase_reversed_points(purchase) == 500
    assert figures(shopper)[0] == 0
    assert_audit_passes()
    with pytest.raises(InvalidLedgerRequest, match="already been reversed in full"):
        wallet_reverse(entry=purchase, idempotency_key="refund:3", reason="Refunded a third time")


def test_the_audit_counts_only_the_points_given_back_to_the_same_purchase(shopper, purchase):
    other = credit(shopper, 500, key="stripe:cs_10", stripe_object_id="cs_10")
    wallet_reverse(entry=purchase, idempotency_key="refund:1", reason="Refunded")
    wallet_reverse(entry=other, idempotency_key="refund:other", reason="Refunded")
    wallet_restore(entry=other, points=500, idempotency_key="refund:other:failed", reason="Refund failed")
    assert_audit_passes()

    # when: a second reversal of the first purchase slips past the services (the give-back was the other's)
    post_entry(user=shopper, amount=-500, kind=LedgerEntry.Kind.REVERSAL, idempotency_key="bypass",
               description="Reversed twice", action="reverse", reverses=purchase)

    report = wallet_audit()
    assert not report.ok
    assert any(f"entry {purchase.pk} " in problem and "reversed by 1000" in problem for problem in report.problems)
