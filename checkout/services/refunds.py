"""Refunds of payments: a whole checkout session's payment refunded by staff, and Stripe's ``charge.refunded``,
which confirms refunds of every kind.

A staff refund first asks the session's kind to take back what was sold (``on_refund_requested``: the wallet
takes a package's points back, and refuses when the shopper already spent them) and then refunds the payment,
in one transaction: a refusal comes before any money moves, and a Stripe failure rolls the taking back. Both
carry the key ``checkout:<session id>:refund``, so a retry after a lost answer gets Stripe's first refund back
instead of a second one.

``charge.refunded`` carries the charge's cumulative ``amount_refunded``. It is applied as ``max(what we have,
what Stripe says)``, never backwards, so replays and events arriving out of order change nothing; the kind's
``on_refunded`` then says what that means for what was sold.
"""

import logging
from datetime import datetime
from enum import StrEnum

from django.db import transaction
from django.utils import timezone

from checkout import gateway
from checkout.errors import RefundRefused
from checkout.gateway import PaymentProviderError, StripeCharge
from checkout.kinds import RefundProgress, handler_for
from checkout.models import CheckoutSession
from checkout.money import format_money

logger = logging.getLogger(__name__)

REASON_LIMIT = 300
STRIPE_METADATA_LIMIT = 500  # Stripe refuses longer metadata values

__all__ = ["RefundRefused", "charge_refunded_apply", "checkout_session_refund"]


class RefundOutcome(StrEnum):
    UNKNOWN_PAYMENT = "unknown payment"


def checkout_session_refund(*, session_id, staff_user, reason: str, now: datetime | None = None) -> CheckoutSession:
    """Refund a session's payment in full, after its kind took back what was sold.

    Refused (``RefundRefused``, nothing changed) for anything but a completed, not yet refunded session, without a
    reason, or when the kind refuses. The session row stays locked while Stripe is asked: the confirming
    ``charge.refunded`` waits for this transaction. A staff action, rare enough to afford that."""
    reason = (reason or "").strip()
    if not reason:
        raise RefundRefused("Say why the purchase is refunded: the shopper's history and other staff will show it.")
    if staff_user is None or not staff_user.is_staff:
        raise RefundRefused("Only staff members can refund a purchase.")
    now = now or timezone.now()
    with transaction.atomic():
        session = (CheckoutSession.objects.select_for_update(of=("self",)).select_related("user")
                   .filter(pk=session_id).first())
        _check_refundable(session)
        key = f"checkout:{session.pk}:refund"
        taken_back = handler_for(session.kind).on_refund_requested(
            session=session, staff_user=staff_user, reason=reason, idempotency_key=key, now=now)
        try:
            refund = gateway.refund_create(
                payment_intent_id=session.stripe_payment_intent_id, idempotency_key=key,
                metadata={"checkout_session_id": str(session.pk), "reason": reason[:STRIPE_METADATA_LIMIT]})
        except PaymentProviderError as error:
            # Leaving the atomic block with this exception rolls the reversal back.
            raise RefundRefused(f"Stripe did not refund the payment ({error.provider_message or error}), so "
                                f"nothing was taken back. {_retry_advice(error)}") from error
        session.refunded_cents, session.refunded_at, session.refunded_by = refund.amount, now, staff_user
        session.refund_reason, session.stripe_refund_id = reason[:REASON_LIMIT], refund.id
        session.updated_at = now
        fields = ["refunded_cents", "refunded_at", "refunded_by", "refund_reason", "stripe_refund_id", "updated_at"]
        if session.stripe_refunded_cents >= refund.amount:  # Stripe's event came first (an earlier, lost attempt)
            session.refund_confirmed_at = now
            fields.append("refund_confirmed_at")
        session.save(update_fields=fields)
    logger.info("Checkout session %s refunded by staff %s: %s cents (Stripe %s), %s", session.pk, staff_user.pk,
                refund.amount, refund.id, taken_back)
    return session


def _check_refundable(session: CheckoutSession | None) -> None:
    if session is None:
        raise RefundRefused("There is no such checkout session.")
    elsewhere = handler_for(session.kind).refund_elsewhere
    if elsewhere:
        raise RefundRefused(elsewhere)
    if session.status != CheckoutSession.Status.COMPLETED:
        raise RefundRefused(f"Only a paid and credited purchase can be refunded; this one is {session.status}.")
    if session.refunded_cents:
        refunded = format_money(session.refunded_cents, session.currency)
        raise RefundRefused(f"This purchase was already refunded ({refunded} on {session.refunded_at:%Y-%m-%d %H:%M} "
                            f"UTC).")
    if not session.stripe_payment_intent_id:
        raise RefundRefused("Stripe's payment for this purchase is not known yet; ask Stripe about the session "
                            "(the reconcile action) and try again.")


def _retry_advice(error: PaymentProviderError) -> str:
    if error.retryable and not error.session_unusable:
        return "Try again in a moment: a retry cannot refund twice."
    return "Check the payment in Stripe's dashboard before trying again."


def charge_refunded_apply(*, charge: StripeCharge, now: datetime | None = None) -> str:
    """Apply Stripe's ``charge.refunded`` inside the webhook's transaction to the session the payment paid, then
    let its kind apply it to what was sold. Returns the outcome, for the delivery's record."""
    now = now or timezone.now()
    if not charge.payment_intent:
        return RefundOutcome.UNKNOWN_PAYMENT
    with transaction.atomic(savepoint=False):
        session = (CheckoutSession.objects.select_for_update(of=("self",)).select_related("user")
                   .filter(stripe_payment_intent_id=charge.payment_intent).order_by("created_at").first())
        if session is None:
            return RefundOutcome.UNKNOWN_PAYMENT
        fields, progress = [], RefundProgress(refunded_cents=session.stripe_refunded_cents)
        if charge.amount_refunded > session.stripe_refunded_cents:
            session.stripe_refunded_cents = charge.amount_refunded
            fields.append("stripe_refunded_cents")
            progress = RefundProgress(refunded_cents=charge.amount_refunded, increased=True)
        if (session.refunded_cents and session.refund_confirmed_at is None
                and session.stripe_refunded_cents >= session.refunded_cents):
            session.refund_confirmed_at = now
            fields.append("refund_confirmed_at")
            progress = RefundProgress(refunded_cents=progress.refunded_cents, increased=progress.increased,
                                      confirms_staff_refund=True)
        if fields:
            session.updated_at = now
            session.save(update_fields=[*fields, "updated_at"])
        return handler_for(session.kind).on_refunded(session=session, progress=progress, now=now)
