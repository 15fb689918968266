"""Helpers shared by the wallet tests."""

import itertools

from wallet.audit import wallet_audit
from wallet.models import Wallet
from wallet.services import wallet_credit

_keys = itertools.count()


def credit(user, points, *, kind="purchase", key=None, **extra):
    """Credit through the service, with a fresh idempotency key unless one is given."""
    return wallet_credit(user=user, points=points, kind=kind, idempotency_key=key or f"test-credit-{next(_keys)}",
                         description=extra.pop("description", f"Test {kind}"), **extra)


def wallet_of(user) -> Wallet:
    return Wallet.objects.get(user=user)


def figures(user) -> tuple[int, int, int]:
    wallet = wallet_of(user)
    return wallet.balance, wallet.lifetime, wallet.spent


def assert_audit_passes():
    report = wallet_audit()
    assert report.ok, report.problems
