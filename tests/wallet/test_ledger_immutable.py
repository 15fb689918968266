import pytest
from django.db import IntegrityError, connection, transaction

from tests.wallet.helpers import credit
from wallet.models import LedgerEntry, LedgerIsAppendOnly


@pytest.fixture
def entry(shopper):
    return LedgerEntry.objects.get(pk=credit(shopper, 100, description="Original").pk)


def unchanged(entry) -> bool:
    stored = LedgerEntry.objects.get(pk=entry.pk)
    return (stored.amount, stored.balance_after, stored.description) == (100, 100, "Original")


@pytest.mark.parametrize("attempt", [
    lambda entry: LedgerEntry.objects.filter(pk=entry.pk).update(amount=1),
    lambda entry: LedgerEntry.objects.filter(pk=entry.pk).delete(),
    lambda entry: LedgerEntry.objects.all().delete(),
    lambda entry: LedgerEntry.objects.bulk_update([entry], ["amount"]),
    lambda entry: entry.delete(),
    lambda entry: entry.save(),
    lambda entry: LedgerEntry.objects.update_or_create(pk=entry.pk, defaults={"amount": 5}),
], ids=["update", "delete", "delete-all", "bulk_update", "instance-delete", "instance-save", "update_or_create"])
def test_the_orm_refuses_to_change_or_remove_an_entry(entry, attempt):
    entry.amount = 1

    with pytest.raises(LedgerIsAppendOnly):
        attempt(entry)

    assert unchanged(entry)


@pytest.mark.parametrize("sql", [
    "UPDATE wallet_ledgerentry SET amount = 1 WHERE id = %s",
    "UPDATE wallet_ledgerentry SET description = 'rewritten' WHERE id = %s",
    "DELETE FROM wallet_ledgerentry WHERE id = %s",
])
def test_the_database_refuses_to_change_or_remove_an_entry(entry, sql):
    with pytest.raises(IntegrityError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])

    assert unchanged(entry)


def test_new_entries_can_still_be_appended(entry, shopper):
    credit(shopper, 5)

    assert LedgerEntry.objects.count() == 2
