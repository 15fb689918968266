from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from shop.models import User
from tests.factories import UserFactory
from tests.wallet.helpers import assert_audit_passes, credit, figures
from wallet.models import LedgerEntry, Wallet
from wallet.services import (
    IdempotencyConflict,
    InsufficientPoints,
    InvalidLedgerRequest,
    InvalidPoints,
    WalletError,
    wallet_credit,
    wallet_spend,
)
from wallet.services import ledger


def spend(user, points, key, **extra):
    return wallet_spend(user=user, points=points, idempotency_key=key,
                        description=extra.pop("description", "Test spend"), **extra)


@pytest.fixture(params=["one statement", "two statements"])
def statement_mode(request, monkeypatch):
    """Run a test through the PostgreSQL single-statement path and through the two-statement path that SQLite
    (`make run`) takes, both against PostgreSQL."""
    if request.param == "two statements":
        monkeypatch.setattr(ledger, "_one_statement", lambda: False)
    return request.param


def test_a_purchase_credits_the_wallet_and_records_the_entry(shopper, statement_mode):
    entry = credit(shopper, 500, key="stripe:cs_1", stripe_object_id="cs_1", metadata={"package_name": "Premium"})

    assert figures(shopper) == (500, 500, 0)
    stored = LedgerEntry.objects.get()
    assert stored.pk == entry.pk
    assert (stored.amount, stored.kind, stored.balance_after) == (500, "purchase", 500)
    assert (stored.stripe_object_id, stored.metadata, stored.idempotency_key) == ("cs_1", {"package_name": "Premium"},
                                                                                  "stripe:cs_1")
    assert stored.wallet == Wallet.objects.get(user=shopper)
    assert (entry.amount, entry.balance_after, entry.wallet_id, entry.created_at) == (
        stored.amount, stored.balance_after, stored.wallet_id, stored.created_at)


def test_a_spend_takes_points_and_counts_them_as_spent(funded_shopper, statement_mode):
    entry = spend(funded_shopper, 300, "order:1:pay")

    assert figures(funded_shopper) == (700, 1000, 300)
    assert (entry.amount, entry.kind, entry.balance_after) == (-300, "spend", 700)
    assert_audit_passes()


def test_spending_the_whole_balance_leaves_zero(funded_shopper, statement_mode):
    spend(funded_shopper, 1000, "all-of-it")

    assert figures(funded_shopper) == (0, 1000, 1000)


def test_a_spend_beyond_the_balance_is_refused_and_changes_nothing(funded_shopper, statement_mode):
    spend(funded_shopper, 900, "first")

    with pytest.raises(InsufficientPoints) as refusal:
        spend(funded_shopper, 150, "second")

    assert "balance is 100" in str(refusal.value) and "150" in str(refusal.value)
    assert (refusal.value.balance, refusal.value.points) == (100, 150)
    assert figures(funded_shopper) == (100, 1000, 900)
    assert not LedgerEntry.objects.filter(idempotency_key="second").exists()


@pytest.mark.parametrize("points", [0, -5, 1.5, "10", True, None, Decimal("10"), 10**13])
def test_points_that_are_not_a_positive_whole_number_are_refused(funded_shopper, points):
    with pytest.raises(InvalidPoints) as refusal:
        spend(funded_shopper, points, "bad")
    with pytest.raises(InvalidPoints):
        credit(funded_shopper, points)

    assert str(points) in str(refusal.value) or type(points).__name__ in str(refusal.value)
    assert figures(funded_shopper) == (1000, 1000, 0)
    assert LedgerEntry.objects.count() == 1


@pytest.mark.parametrize("key", ["", "   ", None, "x" * 256])
def test_an_idempotency_key_is_required(funded_shopper, key):
    with pytest.raises(InvalidLedgerRequest, match="dempotency key"):
        spend(funded_shopper, 10, key)

    assert LedgerEntry.objects.count() == 1


def test_only_credit_kinds_can_be_credited(shopper):
    for kind in ["spend", "reversal", "bonus"]:
        with pytest.raises(InvalidLedgerRequest, match=kind):
            credit(shopper, 10, kind=kind)

    assert not LedgerEntry.objects.exists()


def test_a_description_is_required_and_long_ones_are_shortened(shopper):
    with pytest.raises(InvalidLedgerRequest, match="description"):
        credit(shopper, 10, description="  ")

    entry = credit(shopper, 10, description="A" * 300)

    assert len(LedgerEntry.objects.get(pk=entry.pk).description) == 255
    assert entry.description.endswith("…")


def test_a_replayed_credit_returns_the_first_entry_and_credits_once(shopper, statement_mode):
    first = credit(shopper, 500, key="evt_1")

    again = credit(shopper, 500, key="evt_1", description="Delivered twice")

    assert again.pk == first.pk
    assert again.description == first.description
    assert figures(shopper) == (500, 500, 0)
    assert LedgerEntry.objects.count() == 1


def test_a_replayed_spend_returns_the_first_entry_even_once_the_balance_ran_low(funded_shopper, statement_mode):
    first = spend(funded_shopper, 800, "order:7:pay")

    again = spend(funded_shopper, 800, "order:7:pay")

    assert again.pk == first.pk and again.balance_after == 200
    assert figures(funded_shopper) == (200, 1000, 800)


@pytest.mark.parametrize("change", ["amount", "kind", "user"])
def test_reusing_a_key_for_a_different_request_is_a_conflict(funded_shopper, change, statement_mode):
    other = UserFactory()
    credit(other, 50)
    spend(funded_shopper, 100, "order:9:pay")
    before = (figures(funded_shopper), figures(other), LedgerEntry.objects.count())

    with pytest.raises(IdempotencyConflict, match="order:9:pay"):
        if change == "amount":
            spend(funded_shopper, 101, "order:9:pay")
        elif change == "kind":
            credit(funded_shopper, 100, kind="refund", key="order:9:pay")
        else:
            spend(other, 50, "order:9:pay")

    assert (figures(funded_shopper), figures(other), LedgerEntry.objects.count()) == before


def test_a_failure_in_the_enclosing_transaction_leaves_no_entry(funded_shopper, statement_mode):
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            spend(funded_shopper, 400, "order:3:pay")
            assert figures(funded_shopper) == (600, 1000, 400)
            raise RuntimeError("the order could not be saved")

    assert figures(funded_shopper) == (1000, 1000, 0)
    assert not LedgerEntry.objects.filter(idempotency_key="order:3:pay").exists()


def test_a_refusal_inside_a_transaction_leaves_the_callers_work_intact(funded_shopper, statement_mode):
    with transaction.atomic():
        first = spend(funded_shopper, 600, "order:4:pay")
        with pytest.raises(InsufficientPoints):
            spend(funded_shopper, 600, "order:5:pay")
        replay = spend(funded_shopper, 600, "order:4:pay")  # found through the unique index's clash
        with pytest.raises(IdempotencyConflict):
            spend(funded_shopper, 1, "order:4:pay")
        later = spend(funded_shopper, 100, "order:6:pay")

    assert replay.pk == first.pk
    assert later.balance_after == 300
    assert figures(funded_shopper) == (300, 1000, 700)
    assert_audit_passes()


def test_a_refund_gives_points_back_but_never_more_than_was_spent(funded_shopper, statement_mode):
    spend(funded_shopper, 400, "order:8:pay")

    refund = credit(funded_shopper, 150, kind="refund", key="order:8:refund")
    with pytest.raises(InvalidPoints, match="more than the 250 points"):
        credit(funded_shopper, 251, kind="refund", key="order:8:refund-2")

    assert refund.balance_after == 750
    assert figures(funded_shopper) == (750, 1000, 250)
    assert_audit_passes()


def test_a_user_without_a_wallet_gets_one_on_the_first_credit(db, statement_mode):
    user = User.objects.create_user(email="late@example.com", password="x")

    with pytest.raises(InsufficientPoints, match="balance is 0"):
        spend(user, 1, "nothing-to-spend")
    entry = credit(user, 40)

    assert entry.balance_after == 40
    assert figures(user) == (40, 40, 0)


def test_spend_records_the_order_it_paid_for(funded_shopper):
    class Order:
        pk = "3f2c1d7e-0000-4000-8000-000000000001"

    entry = spend(funded_shopper, 10, "order:x:pay", order=Order(), metadata={"note": "kept"})

    assert LedgerEntry.objects.get(pk=entry.pk).metadata == {"note": "kept", "order_id": Order.pk}


def test_a_spend_refused_just_before_a_credit_lands_is_made_after_all(shopper, monkeypatch, statement_mode):
    credit(shopper, 5)
    real_refusal = ledger._refusal

    def credit_lands_first(**kwargs):
        monkeypatch.setattr(ledger, "_refusal", real_refusal)
        credit(shopper, 20, key="late-credit")
        return real_refusal(**kwargs)

    monkeypatch.setattr(ledger, "_refusal", credit_lands_first)

    entry = spend(shopper, 10, "order:late:pay")

    assert entry.balance_after == 15
    assert figures(shopper) == (15, 25, 10)
    assert_audit_passes()


def test_a_wallet_that_keeps_changing_under_a_request_gives_up_cleanly(funded_shopper, monkeypatch):
    monkeypatch.setattr(ledger, "_move_and_record", lambda params, **kwargs: None)
    monkeypatch.setattr(ledger, "_refusal", lambda **kwargs: None)

    with pytest.raises(WalletError, match="changed too often"):
        spend(funded_shopper, 10, "order:busy:pay")

    assert figures(funded_shopper) == (1000, 1000, 0)


def test_the_ledger_statement_is_prepared_once_per_connection(funded_shopper):
    for number in range(8):
        spend(funded_shopper, 1, f"prepared:{number}")

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%WITH moved AS%"])
        assert cursor.fetchone()[0] == 1
    assert figures(funded_shopper) == (992, 1000, 8)


def test_a_credit_without_a_savepoint_is_one_statement_in_the_callers_transaction(shopper, statement_mode):
    with transaction.atomic():
        with CaptureQueriesContext(connection) as statements:
            entry = wallet_credit(user=shopper, points=500, kind="purchase",
                                  idempotency_key="stripe:checkout:cs_1", description="Bought points",
                                  savepoint=False)

    assert entry.balance_after == 500 and figures(shopper) == (500, 500, 0)
    sql = [query["sql"] for query in statements.captured_queries]
    if statement_mode == "one statement":
        assert len(sql) == 1 and "INSERT INTO" in sql[0], sql
    else:  # SQLite's path (`make run`) ignores savepoint=False: its two statements stay in a savepoint
        assert len(sql) == 4 and sql[0].startswith("SAVEPOINT"), sql


def test_a_credit_without_a_savepoint_finds_a_replay_and_a_conflict_without_breaking_the_transaction(
        shopper, statement_mode):
    first = credit(shopper, 500, key="stripe:checkout:cs_2")

    with transaction.atomic():
        again = wallet_credit(user=shopper, points=500, kind="purchase", idempotency_key="stripe:checkout:cs_2",
                              description="Delivered twice", savepoint=False)
        with pytest.raises(IdempotencyConflict):
            wallet_credit(user=shopper, points=501, kind="purchase", idempotency_key="stripe:checkout:cs_2",
                          description="Another amount", savepoint=False)
        later = wallet_credit(user=shopper, points=50, kind="purchase", idempotency_key="stripe:checkout:cs_3",
                              description="More points", savepoint=False)

    assert again.pk == first.pk
    assert later.balance_after == 550
    assert figures(shopper) == (550, 550, 0)
    assert LedgerEntry.objects.count() == 2
    assert_audit_passes()
