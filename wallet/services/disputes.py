"""Points of a package whose payment is disputed (``wallet.checkout_kind``), inside checkout's transaction with
the package's session locked.

Opened: the package's unspent points are held back -- a reversal of its purchase keyed
``stripe:dispute:<dispute>:hold`` of as many of them as the shopper still has (never below a zero balance), and
never more than is left of the purchase (a refund may have reversed some already). What could not be held,
because it was spent, is the shortfall: kept on the purchase with what was held, for staff. Won: exactly what was
held is credited back, keyed ``stripe:dispute:<dispute>:release``. Lost: the hold is final; nothing moves.
The keys make a replayed hook a no-op.
"""


from wallet.models import LedgerEntry, PointsPurchase, Wallet, purchase_credit_key
from wallet.services.corrections import purchase_reversed_points, wallet_restore, wallet_reverse


def dispute_hold_key(stripe_dispute_id: str) -> str:
    return f"stripe:dispute:{stripe_dispute_id}:hold"


def dispute_release_key(stripe_dispute_id: str) -> str:
    return f"stripe:dispute:{stripe_dispute_id}:release"


def points_purchase_dispute_hold(*, session, stripe_dispute_id: str) -> str:
    """Hold back what is left of the package's points, as far as the balance allows. Returns a few words."""
    purchase = session.points_purchase
    credit = _purchase_credit(session)
    if credit is None:
        return "no points were credited for it, so none were held back"
    key = dispute_hold_key(stripe_dispute_id)
    if LedgerEntry.objects.filter(idempotency_key=key).exists():
        return _held_words(PointsPurchase.objects.get(pk=purchase.pk))
    # The wallet row is locked before its balance is read, so no spend can slip in between and make the
    # reversal fail (wallet_reverse locks it again, which is free within the transaction).
    balance = Wallet.objects.select_for_update(of=("self",)).values_list("balance", flat=True).get(pk=credit.wallet_id)
    remaining = credit.amount - purchase_reversed_points(credit)  # points a failed refund gave back count
    held = max(0, min(balance, remaining))
    if held:
        wallet_reverse(entry=credit, idempotency_key=key, points=held,
                       reason=f"held back while the payment for {session.title} is disputed",
                       stripe_object_id=stripe_dispute_id,
                       metadata={"checkout_session_id": str(session.pk), "dispute": stripe_dispute_id})
    purchase.dispute_held_points, purchase.dispute_shortfall_points = held, remaining - held
    purchase.save(update_fields=["dispute_held_points", "dispute_shortfall_points"])
    return _held_words(purchase)


def points_purchase_dispute_release(*, session, stripe_dispute_id: str, won: bool) -> str:
    """Won: give back exactly what the hold took. Lost: the hold stays. Returns a few words."""
    purchase = session.points_purchase
    hold = LedgerEntry.objects.filter(idempotency_key=dispute_hold_key(stripe_dispute_id)).first()
    if not won:
        short = f"; {purchase.dispute_shortfall_points:,} had been spent" if purchase.dispute_shortfall_points else ""
        if hold is None:
            return f"dispute lost: no points had been held back{short}"
        return f"dispute lost: the {-hold.amount:,} points held back stay taken back{short}"
    if hold is None:
        return "dispute won: no points had been held back"
    # Given back as a restore of the purchase, so that it can still be refunded later like any other.
    wallet_restore(entry=_purchase_credit(session), points=-hold.amount,
                   idempotency_key=dispute_release_key(stripe_dispute_id),
                   reason=f"Points given back: the dispute over the payment for {session.title} is over and the "
                          f"payment stands",
                   metadata={"checkout_session_id": str(session.pk), "dispute": stripe_dispute_id,
                             "package_name": session.title})
    return f"dispute won: {-hold.amount:,} points given back"


def _purchase_credit(session) -> LedgerEntry | None:
    if not session.stripe_session_id:
        return None
    return LedgerEntry.objects.filter(idempotency_key=purchase_credit_key(session.stripe_session_id)).first()


def _held_words(purchase: PointsPurchase) -> str:
    words = f"{purchase.dispute_held_points:,} of the package's {purchase.points:,} points held back"
    if purchase.dispute_shortfall_points:
        words += f"; {purchase.dispute_shortfall_points:,} already spent (not held: shortfall)"
    return words
