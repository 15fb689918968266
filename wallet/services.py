from django.db import transaction

from wallet.models import Wallet


@transaction.atomic
def wallet_open(*, user) -> Wallet:
    """Give a user their (empty) wallet. Safe to call again: returns the existing one."""
    wallet, _created = Wallet.objects.get_or_create(user=user)
    return wallet
