"""Refunds seen from checkout: a points package bought by card, refunded by staff; and Stripe's
``charge.refunded``, which confirms refunds of every kind (card orders and packages).

A package refund takes the credited points back and refunds the payment in one transaction: the reversal goes
first, so a shopper who already spent the points is refused before any money moves, and a Stripe failure rolls
the reversal back. Both carry the key ``checkout:<session id>:refund``, so a retry after a lost answer gets
Stripe's first refund back instead of a second one.

``charge.refunded`` carries the charge's cumulative ``amount_refunded``. It is applied as ``max(what we have,
what Stripe says)``, never backwards, so replays and events arriving out of order change nothing.
"""

import logging
from datetime import datetime
from enum import StrEnum

from django.db import transaction
from django.utils import timezone

from checkout import gateway
from checkout.gateway import PaymentProviderError, StripeCharge
from checkout.models import CheckoutSession
from shop.templatetags.shop_tags import money
from wallet.services import InsufficientPoints, InvalidLedgerRequest, wallet_reverse

logger = logging.getLogger(__name__)

REASON_LIMIT = 300
STRIPE_METADATA_LIMIT = 500  # Stripe refuses longer metadata values


class RefundRefused(Exception):
    """A refund staff asked for that cannot be made; the message says why. Nothing was changed."""


class RefundOutcome(StrEnum):
    PACKAGE_REFUND_CONFIRMED = "package refund confirmed"
    PACKAGE_REFUND_AWAITED = "package refund partly confirmed"
    PACKAGE_REFUNDED_OUTSIDE_SHOP = "package refunded outside the shop: its points were not taken back"
    ALREADY_RECORDED = "refund already recorded"
    UNKNOWN_PAYMENT = "unknown payment"


def checkout_session_refund(*, session_id, staff_user, reason: str, now: datetime | None = None) -> CheckoutSession:
    """Refund a points package purchase in full: take its points back and refund its payment through Stripe.

    Refused (``RefundRefused``, nothing changed) for anything but a completed, not yet refunded package
    purchase, without a reason, or when the shopper has already spent the points. The session row, then the
    wallet row, stay locked while Stripe is asked: the shopper cannot spend the points meanwhile, and the
    confirming ``charge.refunded`` waits for this transaction. A staff action, rare enough to afford that."""
    reason = (reason or "").strip()
    if not reason:
        raise RefundRefused("Say why the purchase is refunded: the shopper's history and other staff will show it.")
    if staff_user is None or not staff_user.is_staff:
        raise RefundRefused("Only staff members can refund a purchase.")
    now = now or timezone.now()
    with transaction.atomic():
        session = (CheckoutSession.objects.select_for_update(of=("self",)).select_related("user", "ledger_entry")
                   .filter(pk=session_id).first())
        _check_refundable(session)
        key = f"checkout:{session.pk}:refund"
        purchase = session.ledger_entry
        try:
            wallet_reverse(entry=purchase, idempotency_key=key, reason=f"{session.title} refunded: {reason}",
                           stripe_object_id=session.stripe_payment_intent_id,
                           metadata={"checkout_session_id": str(session.pk), "refunded_by": staff_user.pk})
        except InsufficientPoints as short:
            raise RefundRefused(
                f"{session.user} has already spent points from this purchase: they have {short.balance:,} points "
                f"now, and the package gave {purchase.amount:,}. Nothing was refunded and no points were taken "
                f"back.") from short
        except InvalidLedgerRequest as refusal:
            raise RefundRefused(f"The points cannot be taken back: {refusal} Nothing was refunded.") from refusal
        try:
            refund = gateway.refund_create(
                payment_intent_id=session.stripe_payment_intent_id, idempotency_key=key,
                metadata={"checkout_session_id": str(session.pk), "reason": reason[:STRIPE_METADATA_LIMIT]})
        except PaymentProviderError as error:
            # Leaving the atomic block with this exception rolls the reversal back.
            raise RefundRefused(f"Stripe did not refund the payment ({error.provider_message or error}), so no "
                                f"points were taken back. {_retry_advice(error)}") from error
        session.refunded_cents, session.refunded_at, session.refunded_by = refund.amount, now, staff_user
        session.refund_reason, session.stripe_refund_id = reason[:REASON_LIMIT], refund.id
        session.updated_at = now
        fields = ["refunded_cents", "refunded_at", "refunded_by", "refund_reason", "stripe_refund_id", "updated_at"]
        if session.stripe_refunded_cents >= refund.amount:  # Stripe's event came first (an earlier, lost attempt)
            session.refund_confirmed_at = now
            fields.append("refund_confirmed_at")
        session.save(update_fields=fields)
    logger.info("Checkout session %s refunded by staff %s: %s cents (Stripe %s), %s points taken back", session.pk,
                staff_user.pk, refund.amount, refund.id, purchase.amount)
    return session


def _check_refundable(session: CheckoutSession | None) -> None:
    if session is None:
        raise RefundRefused("There is no such checkout session.")
    if session.kind != CheckoutSession.Kind.POINTS_PACKAGE:
        raise RefundRefused("This checkout paid for an order: refund the order instead.")
    if session.status != CheckoutSession.Status.COMPLETED or session.ledger_entry is None:
        raise RefundRefused(f"Only a paid and credited purchase can be refunded; this one is {session.status}.")
    if session.refunded_cents:
        raise RefundRefused(f"This purchase was already refunded ({money(session.refunded_cents, session.currency)}"
                            f" on {session.refunded_at:%Y-%m-%d %H:%M} UTC).")
    if not session.stripe_payment_intent_id:
        raise RefundRefused("Stripe's payment for this purchase is not known yet; ask Stripe about the session "
                            "(the reconcile action) and try again.")


def _retry_advice(error: PaymentProviderError) -> str:
    if error.retryable and not error.session_unusable:
        return "Try again in a moment: a retry cannot refund twice."
    return "Check the payment in Stripe's dashboard before trying again."


def charge_refunded_apply(*, charge: StripeCharge, now: datetime | None = None) -> str:
    """Apply Stripe's ``charge.refunded`` inside the webhook's transaction: a card order's refund (orders decides
    what that means for the order), else a points package's. Returns the outcome, for the delivery's record."""
    now = now or timezone.now()
    if not charge.payment_intent:
        return RefundOutcome.UNKNOWN_PAYMENT
    from orders.services.refunds import order_refund_confirm  # orders builds on checkout

    with transaction.atomic(savepoint=False):
        confirmed = order_refund_confirm(payment_intent_id=charge.payment_intent,
                                         refunded_cents=charge.amount_refunded)
        if confirmed is not None:
            return confirmed
        session = (CheckoutSession.objects.select_for_update(of=("self",))
                   .filter(stripe_payment_intent_id=charge.payment_intent, kind=CheckoutSession.Kind.POINTS_PACKAGE)
                   .order_by("created_at").first())
        if session is None:
            return RefundOutcome.UNKNOWN_PAYMENT
        return _package_refund_confirm(session, charge, now=now)


def _package_refund_confirm(session: CheckoutSession, charge: StripeCharge, *, now: datetime) -> str:
    fields = []
    if charge.amount_refunded > session.stripe_refunded_cents:
        session.stripe_refunded_cents = charge.amount_refunded
        fields.append("stripe_refunded_cents")
    if not session.refunded_cents:
        if fields:
            logger.warning("Checkout session %s: Stripe refunded %s cents of its payment %s, but not through the "
                           "shop, so its points were not taken back", session.pk, charge.amount_refunded,
                           charge.payment_intent)
            _save(session, fields, now=now)
            return RefundOutcome.PACKAGE_REFUNDED_OUTSIDE_SHOP
        return RefundOutcome.ALREADY_RECORDED
    if session.refund_confirmed_at is None and session.stripe_refunded_cents >= session.refunded_cents:
        session.refund_confirmed_at = now
        _save(session, [*fields, "refund_confirmed_at"], now=now)
        return RefundOutcome.PACKAGE_REFUND_CONFIRMED
    _save(session, fields, now=now)
    return RefundOutcome.PACKAGE_REFUND_AWAITED if session.refund_confirmed_at is None else \
        RefundOutcome.ALREADY_RECORDED


def _save(session: CheckoutSession, fields: list[str], *, now: datetime) -> None:
    if fields:
        session.updated_at = now
        session.save(update_fields=[*fields, "updated_at"])
