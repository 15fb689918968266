"""A points package purchase follows its payment's refunds (``wallet.checkout_kind`` calls these inside checkout's
transaction, the session locked; the wallet row is locked here before its balance decides anything).

The points taken back aim at the share of the payment refunded or being refunded -- every refund of it that did
not fail and was not canceled: all the package's points for the whole payment, ``points * cents // price`` for a
part. A staff refund takes its points back before Stripe is asked, and is refused when they were spent
(``on_refund_requested``). A refund made in Stripe's Dashboard takes back what the balance allows when the shop
hears of it and records the rest as a ``RefundShortfall`` (staff are told). A refund that fails or is canceled
settles its shortfall and gives back what is then taken back beyond the aim (``wallet_restore``, so the purchase
can be refunded again).
"""

from datetime import datetime

from django.db.models import Sum

from checkout.models import CheckoutSession, Refund
from checkout.money import format_money
from ops.alerts import staff_alert
from wallet.models import LedgerEntry, RefundShortfall, Wallet, purchase_credit_key
from wallet.services.corrections import purchase_reversed_points, wallet_restore, wallet_reverse


def _aim(session: CheckoutSession, points: int) -> int:
    live = session.refunds.exclude(status__in=Refund.UNDONE).aggregate(total=Sum("amount_cents", default=0))["total"]
    if live >= session.amount_cents:
        return points
    return points * live // session.amount_cents


def _open_shortfalls(purchase) -> int:
    return purchase.refund_shortfalls.filter(settled_at__isnull=True).aggregate(
        total=Sum("points", default=0))["total"]


def _credit(session: CheckoutSession) -> LedgerEntry | None:
    if not session.stripe_session_id:
        return None
    return LedgerEntry.objects.filter(idempotency_key=purchase_credit_key(session.stripe_session_id)).first()


def points_purchase_refund_take(*, session: CheckoutSession, refund: Refund, now: datetime) -> str:
    """Take back what the refunds of ``session``'s payment now call for beyond what is taken back already (as far as
    the shopper's balance allows), on behalf of ``refund``; the rest becomes its shortfall. Nothing more to take
    (a staff refund took its points when it was asked) is the usual answer."""
    purchase, credit = session.points_purchase, _credit(session)
    if credit is None:
        return "no points were credited for it, so none were taken back"
    wallet = Wallet.objects.select_for_update().get(pk=credit.wallet_id)
    due = _aim(session, purchase.points) - purchase_reversed_points(credit) - _open_shortfalls(purchase)
    if due <= 0:
        return "its points were taken back already"
    taken = min(due, wallet.balance)
    if taken:
        wallet_reverse(entry=credit, points=taken, idempotency_key=f"refund:{refund.pk}:points",
                       reason=f"{session.title} refunded ({refund.reason})",
                       stripe_object_id=refund.stripe_refund_id or session.stripe_payment_intent_id,
                       metadata={"checkout_session_id": str(session.pk), "refund_id": str(refund.pk)})
    short = due - taken
    if not short:
        return f"{taken:,} points taken back"
    RefundShortfall.objects.create(refund=refund, purchase=purchase, points=short, created_at=now)
    amount = format_money(refund.amount_cents, refund.currency)
    staff_alert(
        subject=f"Refund of {amount}: {short:,} points could not be taken back",
        message=(f"{session.user} was refunded {amount} of {session.title} ({refund.reason}). The refund calls for "
                 f"{due:,} of the package's {purchase.points:,} points to be taken back, but they had only "
                 f"{wallet.balance:,} left: {taken:,} were taken back, and {short:,} had been spent already.\n\n"
                 f"The shortfall is recorded under Refund shortfalls in the admin (refund {refund.pk}); the "
                 f"shopper's balance never goes below zero, so deciding what to do about it is up to staff."))
    return f"{taken:,} points taken back, {short:,} short (already spent): recorded"


def points_purchase_refund_undo(*, session: CheckoutSession, refund: Refund, now: datetime) -> str:
    """``refund`` failed or was canceled: its shortfall is settled, and what is taken back beyond what the remaining
    refunds call for is given back to the shopper (keyed by the refund: given once)."""
    purchase, credit = session.points_purchase, _credit(session)
    if credit is None:
        return "no points had been credited, so none are given back"
    Wallet.objects.select_for_update().filter(pk=credit.wallet_id).first()
    words = []
    settled = RefundShortfall.objects.filter(refund=refund, settled_at__isnull=True).update(
        settled_at=now, settled_because=f"the refund {refund.status}")
    if settled:
        words.append("its shortfall settled")
    reversed_now = purchase_reversed_points(credit)
    over = min(reversed_now + _open_shortfalls(purchase) - _aim(session, purchase.points), reversed_now)
    if over > 0:
        wallet_restore(entry=credit, points=over, idempotency_key=f"{refund.idempotency_key}:failed",
                       reason=f"{session.title}: the refund {refund.status} at Stripe, so its points are back",
                       created_by=refund.requested_by,
                       metadata={"checkout_session_id": str(session.pk), "refund_id": str(refund.pk),
                                 "refund_failure": refund.failure_message})
        words.append(f"{over:,} points given back")
    return ", ".join(words) or "no points had been taken back"
