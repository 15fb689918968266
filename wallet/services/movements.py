from django.db import transaction

from wallet.models import LedgerEntry, Wallet
from wallet.services.errors import InvalidLedgerRequest
from wallet.services.ledger import check_points, post_entry


@transaction.atomic
def wallet_open(*, user) -> Wallet:
    """Give a user their (empty) wallet. Safe to call again: returns the existing one."""
    wallet, _created = Wallet.objects.get_or_create(user=user)
    return wallet


def wallet_credit(*, user, points: int, kind: str, idempotency_key: str, description: str,
                  stripe_object_id: str = "", metadata: dict | None = None, created_by=None,
                  savepoint: bool = True) -> LedgerEntry:
    """Add points: a purchase (paid through Stripe), a refund of points spent on an order, or a grant.

    The same ``idempotency_key`` again (a webhook delivered twice) returns the first entry and credits nothing;
    with a different user, amount or kind it raises ``IdempotencyConflict``. A refund can give back at most
    what the wallet has spent. ``savepoint=False``: see ``post_entry``."""
    points = check_points(points)
    if kind not in LedgerEntry.CREDIT_KINDS:
        raise InvalidLedgerRequest(
            f"{kind!r} is not a credit; credits are {sorted(k.value for k in LedgerEntry.CREDIT_KINDS)}.")
    return post_entry(user=user, amount=points, kind=kind, idempotency_key=idempotency_key,
                      description=description, action="credit", stripe_object_id=stripe_object_id,
                      metadata=metadata, created_by=created_by, savepoint=savepoint)


def wallet_spend(*, user, points: int, idempotency_key: str, description: str, metadata: dict | None = None,
                 order=None, savepoint: bool = True) -> LedgerEntry:
    """Take points for goods. Raises ``InsufficientPoints`` (and changes nothing) when the balance is short.

    Call it inside the transaction that creates the order: the order and the spend then commit or roll back as
    one. The wallet row stays locked until that transaction ends, so keep it short (no network calls in it). A
    replayed key returns the first entry; the balance is checked only for the first. ``savepoint=False``: see
    ``post_entry``."""
    points = check_points(points)
    metadata = dict(metadata or {})
    if order is not None:  # until the orders app links entries to orders with a foreign key of its own
        metadata.setdefault("order_id", str(order.pk))
    return post_entry(user=user, amount=-points, kind=LedgerEntry.Kind.SPEND, idempotency_key=idempotency_key,
                      description=description, action="spend", metadata=metadata, savepoint=savepoint)
