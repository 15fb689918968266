from typing import NamedTuple

from wallet.models import Wallet


class Balance(NamedTuple):
    current: int
    lifetime: int
    spent: int


EMPTY_BALANCE = Balance(current=0, lifetime=0, spent=0)


def wallet_balance(*, user) -> Balance:
    """The shopper's balance as the database holds it right now (one query). A user without a wallet row yet
    (created by a path that skipped sign-up) has an empty balance."""
    row = Wallet.objects.filter(user=user).values_list("balance", "lifetime", "spent").first()
    return Balance(*row) if row else EMPTY_BALANCE
