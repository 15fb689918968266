"""Points packages sold through checkout: the handler checkout calls for sessions of kind ``points_package``
(registered in ``WalletConfig.ready``). Each hook runs inside checkout's transaction, with the session locked."""

import logging
from datetime import datetime

from django.urls import reverse

from checkout.errors import RefundRefused
from checkout.kinds import BooksDifference, Payment, RefundProgress, SessionKind
from checkout.models import CheckoutSession
from wallet.models import POINTS_PACKAGE, LedgerEntry, purchase_credit_key
from wallet.services import (
    InsufficientPoints,
    InvalidLedgerRequest,
    points_purchase_dispute_hold,
    points_purchase_dispute_release,
    wallet_credit,
    wallet_reverse,
)
from wallet.services.receipts import points_purchase_queue_receipt
from wallet.services.refunds import points_purchase_refund_take, points_purchase_refund_undo

logger = logging.getLogger(__name__)


class PointsPackageKind(SessionKind):
    name = POINTS_PACKAGE
    refund_elsewhere = None  # refunded through checkout_session_refund: points back, then the payment
    load_with = ("points_purchase",)

    def on_paid(self, *, session, payment: Payment, now: datetime) -> str:
        """Credit the package's points once: the ledger's key is the Stripe session, so even a second paid
        session could not credit twice through it. (The purchase row came with the locked session.) No
        savepoint: checkout's transaction fails as a whole if the credit fails, and a webhook saves two round
        trips."""
        purchase = session.points_purchase
        wallet_credit(
            user=session.user, points=purchase.points, kind="purchase",
            idempotency_key=purchase_credit_key(payment.stripe_session_id),
            description=f"Bought {session.title}", stripe_object_id=payment.stripe_session_id,
            metadata={"checkout_session_id": str(session.pk), "package_name": session.title,
                      "package_id": purchase.package_id, "amount_cents": session.amount_cents,
                      "currency": session.currency, "payment_intent": payment.payment_intent_id},
            savepoint=False,
        )
        points_purchase_queue_receipt(session_id=session.pk)
        return f"credited {purchase.points} points to user {session.user_id}"

    def on_refund_requested(self, *, session, refund, staff_user, now: datetime) -> str:
        """Take the package's points back before its payment is refunded (keyed by the refund, so a replay takes
        nothing twice); refused when the shopper has spent them, and then nothing is refunded."""
        credit = LedgerEntry.objects.filter(idempotency_key=purchase_credit_key(session.stripe_session_id)).first()
        if not session.stripe_session_id or credit is None:
            raise RefundRefused(f"Only a paid and credited purchase can be refunded; this one is {session.status}.")
        try:
            wallet_reverse(entry=credit, idempotency_key=refund.idempotency_key,
                           reason=f"{session.title} refunded: {refund.reason}",
                           stripe_object_id=session.stripe_payment_intent_id,
                           metadata={"checkout_session_id": str(session.pk), "refund_id": str(refund.pk),
                                     "refunded_by": staff_user.pk})
        except InsufficientPoints as short:
            raise RefundRefused(
                f"{session.user} has already spent points from this purchase: they have {short.balance:,} points "
                f"now, and the package gave {credit.amount:,}. Nothing was refunded and no points were "
                f"taken back.") from short
        except InvalidLedgerRequest as refusal:
            raise RefundRefused(f"The points cannot be taken back: {refusal} Nothing was refunded.") from refusal
        return f"{credit.amount} points taken back"

    def on_refund_failed(self, *, session, refund, now: datetime) -> str:
        """The refund failed or was canceled (maybe after it succeeded): the points taken back for it are the
        shopper's again (an entry of their own; the ledger never changes one), and it owes nothing any more."""
        return points_purchase_refund_undo(session=session, refund=refund, now=now)

    def on_refunded(self, *, session, progress: RefundProgress, now: datetime) -> str:
        """Stripe accepted a refund: a staff refund took its points already; one made in Stripe's Dashboard takes
        back what the balance allows now, and the rest is recorded as a shortfall."""
        refund = progress.refund
        if progress.increased:
            taken = points_purchase_refund_take(session=session, refund=refund, now=now)
            if progress.made_in_stripe:
                return f"package refunded in Stripe: {taken}"
        if refund.status == refund.Status.SUCCEEDED:
            return "package refund confirmed"
        return "package refund accepted, awaiting Stripe's confirmation"

    def refund_url(self, session) -> str | None:
        return reverse("admin:wallet_pointspurchase_refund", args=[session.pk])

    def books_differences(self, *, since: datetime, until: datetime) -> list[BooksDifference]:
        """Package credits in the window without a completed session behind them (checkout compares the
        completed sessions with Stripe's)."""
        credits = list(LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PURCHASE, created_at__gte=since,
                                                  created_at__lt=until)
                       .values_list("pk", "stripe_object_id", "amount", "metadata"))
        completed = set(CheckoutSession.objects.filter(
            stripe_session_id__in=[stripe_id for _, stripe_id, _, _ in credits if stripe_id],
            status=CheckoutSession.Status.COMPLETED).values_list("stripe_session_id", flat=True))
        return [BooksDifference(
            "credited_without_payment", f"Ledger entry {entry_id} credited {points:,} points for Stripe session "
            f"{stripe_id or '(none)'}, which is not a completed checkout session here.", stripe_id=stripe_id,
            checkout_session_id=str((metadata or {}).get("checkout_session_id") or ""),
            amount_cents=int((metadata or {}).get("amount_cents") or 0), currency=(metadata or {}).get("currency", ""))
            for entry_id, stripe_id, points, metadata in credits if stripe_id not in completed]
    def on_dispute_opened(self, *, session, dispute, now: datetime) -> str:
        return points_purchase_dispute_hold(session=session, stripe_dispute_id=dispute.stripe_dispute_id)

    def on_dispute_closed(self, *, session, dispute, won: bool, now: datetime) -> str:
        return points_purchase_dispute_release(session=session, stripe_dispute_id=dispute.stripe_dispute_id, won=won)

    def staff_url(self, session) -> str | None:
        return reverse("admin:wallet_pointspurchase_change", args=[session.pk])

    def shopper_url(self, session) -> str | None:
        return reverse("points:review", args=[session.pk])
