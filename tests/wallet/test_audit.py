import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F

from tests.factories import UserFactory
from tests.wallet.helpers import credit, wallet_of
from wallet.models import LedgerEntry, Wallet
from wallet.services import wallet_adjust, wallet_reverse, wallet_spend


@pytest.fixture
def busy_ledger(staff):
    """Three shoppers with every kind of entry."""
    shoppers = UserFactory.create_batch(3)
    for number, shopper in enumerate(shoppers):
        purchase = credit(shopper, 1000 + number, metadata={"package_name": "Pro"})
        wallet_spend(user=shopper, points=300, idempotency_key=f"spend-{number}", description="Order")
        credit(shopper, 100, kind="refund")
        wallet_adjust(user=shopper, points=-5, reason="Correction", staff_user=staff,
                      idempotency_key=f"adj-{number}")
        wallet_reverse(entry=purchase, idempotency_key=f"rev-{number}", reason="Refunded", points=200)
    UserFactory()  # a wallet with no entries at all
    return shoppers


def audit(capsys):
    """Run the command; return (exit code, output)."""
    try:
        call_command("audit_wallets")
    except CommandError as error:
        return error.returncode, capsys.readouterr().out
    return 0, capsys.readouterr().out


def corrupt_entry(entry_id, **values):
    """Rewrite an entry behind the services' back, as a superuser can: triggers (the append-only one included)
    are skipped while the session plays a replication role."""
    assignments = ", ".join(f"{column} = %s" for column in values)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(f"UPDATE wallet_ledgerentry SET {assignments} WHERE id = %s", [*values.values(), entry_id])
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")


def test_a_consistent_ledger_passes(busy_ledger, capsys):
    code, output = audit(capsys)

    assert code == 0
    assert "OK: 5 wallets, 15 ledger entries" in output  # the 3 shoppers, the empty wallet and the staff member


def test_a_wallet_whose_cached_balance_drifted_fails(busy_ledger, capsys):
    wallet = wallet_of(busy_ledger[1])
    Wallet.objects.filter(pk=wallet.pk).update(balance=F("balance") + 7, spent=F("spent") - 1)

    code, output = audit(capsys)

    assert code == 1
    assert f"wallet {wallet.pk} ({busy_ledger[1].email}): balance is {wallet.balance + 7}" in output
    assert f"but its entries add up to {wallet.balance} (-7)" in output
    assert "spent is 199 but its entries add up to 200 (+1)" in output
    assert "FAILED" in output and "2 problems" in output


def test_an_entry_whose_balance_after_is_wrong_fails(busy_ledger, capsys):
    wallet = wallet_of(busy_ledger[0])
    entry = LedgerEntry.objects.filter(wallet=wallet, kind="spend").get()
    corrupt_entry(entry.pk, balance_after=entry.balance_after + 1)

    code, output = audit(capsys)

    assert code == 1
    assert f"wallet {wallet.pk}" in output and "1 entries have a balance_after" in output
    assert f"first: entry {entry.pk}" in output


def test_an_entry_whose_amount_changed_fails_every_sum_it_touches(busy_ledger, capsys):
    wallet = wallet_of(busy_ledger[2])
    entry = LedgerEntry.objects.filter(wallet=wallet, kind="spend").get()
    corrupt_entry(entry.pk, amount=-3000)

    code, output = audit(capsys)

    assert code == 1
    for text in ["balance is", "spent is", "balance_after that is not the running sum",
                 "running balance goes below zero"]:
        assert text in output


def test_an_over_reversed_purchase_fails(busy_ledger, capsys):
    reversal = LedgerEntry.objects.filter(kind="reversal").first()
    corrupt_entry(reversal.pk, amount=-5000, balance_after=0)

    code, output = audit(capsys)

    assert code == 1
    assert f"entry {reversal.reverses_id} on wallet {reversal.wallet_id} (purchase of" in output
    assert "is reversed by 5000" in output


def test_the_report_is_capped(db, capsys):
    for shopper in UserFactory.create_batch(3):
        credit(shopper, 10)
    Wallet.objects.update(balance=F("balance") + 1)

    with pytest.raises(CommandError):
        call_command("audit_wallets", limit=2)

    output = capsys.readouterr().out
    assert output.count("  - wallet") == 2
    assert "... and 1 more" in output
