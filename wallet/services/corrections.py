from django.db import transaction
from django.db.models import Sum

from wallet.models import RESTORES_PURCHASE, LedgerEntry, Wallet
from wallet.services.errors import IdempotencyConflict, InvalidLedgerRequest
from wallet.services.ledger import check_points, post_entry


def _reason(reason) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidLedgerRequest("A reason is required: it is kept in the ledger for the shopper and for audits.")
    return reason.strip()


def purchase_reversed_points(entry: LedgerEntry) -> int:
    """How many of purchase ``entry``'s points are taken back now: its reversals, less what ``wallet_restore``
    gave back (a refund that failed). Lock the wallet first when the answer decides a move."""
    reversed_points = -(entry.reversals.aggregate(total=Sum("amount", default=0))["total"])
    restored = LedgerEntry.objects.filter(wallet_id=entry.wallet_id, kind=LedgerEntry.Kind.ADJUSTMENT,
                                          **{f"metadata__{RESTORES_PURCHASE}": entry.pk}).aggregate(
        total=Sum("amount", default=0))["total"]
    return reversed_points - restored


@transaction.atomic
def wallet_restore(*, entry: LedgerEntry, points: int, idempotency_key: str, reason: str, created_by=None,
                   metadata: dict | None = None) -> LedgerEntry:
    """Give back ``points`` reversed from purchase ``entry`` (its refund failed): an adjustment of its own, linked
    to the purchase, so that the purchase can be reversed again later (``wallet_reverse`` counts it). Refuses
    more than is reversed now; a replayed key returns the first entry."""
    existing = LedgerEntry.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        if existing.kind != LedgerEntry.Kind.ADJUSTMENT or existing.metadata.get(RESTORES_PURCHASE) != entry.pk:
            raise IdempotencyConflict(idempotency_key=idempotency_key, first=str(existing),
                                      second=f"restoring purchase {entry.pk}")
        return existing
    points = check_points(points)
    reason = _reason(reason)
    wallet = Wallet.objects.select_for_update(of=("self",)).select_related("user").get(pk=entry.wallet_id)
    reversed_now = purchase_reversed_points(entry)
    if points > reversed_now:
        raise InvalidLedgerRequest(f"Cannot give back {points} points of purchase {entry.pk}: only {reversed_now} "
                                   f"are taken back.")
    return post_entry(
        user=wallet.user, amount=points, kind=LedgerEntry.Kind.ADJUSTMENT, idempotency_key=idempotency_key,
        description=reason, action="add", created_by=created_by,
        metadata={**(metadata or {}), RESTORES_PURCHASE: entry.pk, "reason": reason})


@transaction.atomic
def wallet_reverse(*, entry: LedgerEntry, idempotency_key: str, reason: str, points: int | None = None,
                   stripe_object_id: str = "", metadata: dict | None = None) -> LedgerEntry:
    """Take back the points of a purchase whose payment was refunded: all that is left of it, or ``points``
    (points given back by ``wallet_restore`` count as left again).

    Refuses with ``InsufficientPoints`` when the shopper has already spent them (nothing changes; the caller
    decides what to do with the refund), and with ``InvalidLedgerRequest`` for anything but a purchase or for
    more than remains of it. A replayed key returns the first reversal. The wallet row is locked before the
    purchase's earlier reversals are summed, so two reversals of one purchase cannot both take it all."""
    existing = LedgerEntry.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        if (existing.kind != LedgerEntry.Kind.REVERSAL or existing.reverses_id != entry.pk
                or (points is not None and -existing.amount != points)):
            raise IdempotencyConflict(idempotency_key=idempotency_key, first=str(existing),
                                      second=f"reversing entry {entry.pk}")
        return existing
    if entry.kind != LedgerEntry.Kind.PURCHASE:
        raise InvalidLedgerRequest(f"Only points purchases can be reversed; entry {entry.pk} is a {entry.kind}.")
    reason = _reason(reason)
    wallet = Wallet.objects.select_for_update(of=("self",)).select_related("user").get(pk=entry.wallet_id)
    remaining = entry.amount - purchase_reversed_points(entry)
    if points is None:
        points = remaining
        if points == 0:
            raise InvalidLedgerRequest(f"Purchase {entry.pk} has already been reversed in full.")
    points = check_points(points)
    if points > remaining:
        raise InvalidLedgerRequest(
            f"Cannot reverse {points} points of purchase {entry.pk}: only {remaining} of its {entry.amount} remain.")
    return post_entry(
        user=wallet.user, amount=-points, kind=LedgerEntry.Kind.REVERSAL, idempotency_key=idempotency_key,
        description=f"Purchase reversed: {reason}", action="reverse", stripe_object_id=stripe_object_id,
        metadata={**(metadata or {}), **entry.metadata, "reason": reason}, reverses=entry)


def wallet_adjust(*, user, points: int, reason: str, staff_user, idempotency_key: str) -> LedgerEntry:
    """A staff correction, up (a goodwill grant) or down (``points`` negative). Never below zero: that raises
    ``InsufficientPoints`` and changes nothing. The staff member and the reason are kept on the entry."""
    points = check_points(points, signed=True)
    reason = _reason(reason)
    if staff_user is None or not staff_user.is_staff or not staff_user.is_active:
        raise InvalidLedgerRequest("Only active staff members can adjust a balance.")
    return post_entry(
        user=user, amount=points, kind=LedgerEntry.Kind.ADJUSTMENT, idempotency_key=idempotency_key,
        description=f"Adjustment by staff: {reason}", action="remove" if points < 0 else "add",
        metadata={"reason": reason}, created_by=staff_user)
