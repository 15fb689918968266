"""Refunds of payments, in two phases so that Stripe is never called while a row lock is held.

1. ``refund_request``, inside the caller's transaction with the session locked: the refund is recorded
   (``Refund``, status ``requested``, an idempotency key of its own) together with whatever the seller takes back
   (a package's points) -- all of it commits, or none.
2. ``refund_submit``, after commit and outside any transaction: Stripe is asked with the refund's key, so a retry
   after a lost answer gets Stripe's first refund back instead of a second one; the answer is recorded in a short
   transaction of its own (``refund_lifecycle.refund_status_apply``: usually ``pending``). Stripe unreachable:
   the refund stays ``requested`` and ``refunds_submit_unsent`` (beat) sends it again. Stripe refusing: the
   refund ``failed``, and its kind gives back what it took (``on_refund_failed``).

What happens to a refund after that -- Stripe's events settling it, failing it after it succeeded, refunds made in
Stripe's Dashboard -- is ``checkout.services.refund_lifecycle``.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from checkout import gateway
from checkout.errors import RefundRefused
from checkout.gateway import PaymentProviderError
from checkout.kinds import handler_for
from checkout.models import CheckoutSession, Dispute, Refund, RefundStatusChange
from checkout.money import format_money
from checkout.services.refund_lifecycle import (
    RefundOutcome,
    charge_refunded_apply,
    refund_move,
    refund_status_apply,
    stripe_refund_apply,
)

logger = logging.getLogger(__name__)

REASON_LIMIT = Refund._meta.get_field("reason").max_length
FAILURE_LIMIT = Refund._meta.get_field("failure_message").max_length
STRIPE_METADATA_LIMIT = 500  # Stripe refuses longer metadata values
RESEND_AFTER = timedelta(minutes=1)  # a refund still unsent this long after its last attempt is sent again
RESEND_BATCH = 100

__all__ = ["RefundOutcome", "RefundRefused", "charge_refunded_apply", "checkout_session_refund", "refund_move",
           "refund_request", "refund_submit", "refunds_submit_unsent", "stripe_refund_apply"]


def refundable_cents(session: CheckoutSession) -> int:
    """What is left of the session's payment to refund: its amount less every refund that did not fail or was
    not canceled (those Stripe has not accepted yet included)."""
    counted = session.refunds.exclude(status__in=Refund.UNDONE).aggregate(total=Sum("amount_cents"))["total"]
    return session.amount_cents - (counted or 0)


def refund_request(*, session: CheckoutSession, amount_cents: int, idempotency_key: str, reason: str,
                   requested_by=None, now: datetime | None = None) -> tuple[Refund, bool]:
    """Phase one: record a refund of ``amount_cents`` of ``session``'s payment, inside the caller's transaction,
    ``session`` locked by the caller (so two refunds of one payment take turns and never exceed it). The same
    ``idempotency_key`` again returns the first refund and ``False``. Send it with ``refund_submit`` after
    commit."""
    now = now or timezone.now()
    existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        if (existing.session_id, existing.amount_cents) != (session.pk, amount_cents):
            raise RefundRefused(f"The refund key {idempotency_key!r} was already used for another refund.")
        return existing, False
    if not session.stripe_payment_intent_id:
        raise RefundRefused("Stripe's payment for this purchase is not known yet; ask Stripe about the session "
                            "(the reconcile action) and try again.")
    disputed = session.disputes.filter(outcome__in=["", Dispute.Outcome.LOST]).first()
    if disputed is not None and requested_by is not None:
        # Stripe refuses to refund a disputed charge (charge_disputed): the cardholder's bank already holds, or
        # took back, the money, so a refund would pay them twice.
        state = "was lost" if disputed.outcome else "is open"
        raise RefundRefused(f"The payment is disputed (dispute {disputed.stripe_dispute_id} {state}): the "
                            f"cardholder's bank decides the money, so it cannot be refunded as well.")
    left = refundable_cents(session)
    if amount_cents < 1 or amount_cents > left:
        raise RefundRefused(f"At most {left} cents of this payment can still be refunded; {amount_cents} were asked.")
    refund = Refund.objects.create(session=session, amount_cents=amount_cents, currency=session.currency,
                                   idempotency_key=idempotency_key, reason=reason[:REASON_LIMIT],
                                   requested_by=requested_by, created_at=now, updated_at=now)
    RefundStatusChange.objects.create(refund=refund, from_status="", to_status=refund.status,
                                      note=f"requested: {reason}"[:500], created_at=now)
    return refund, True


def refund_submit(*, refund_id, now: datetime | None = None) -> Refund:
    """Phases two and three: ask Stripe for a ``requested`` refund (outside any transaction: call it after the
    request committed), then record Stripe's answer. Anything but a requested refund is returned as it is.

    Stripe unreachable or failing: the refund stays ``requested``, with the error, for ``refunds_submit_unsent``.
    Stripe refusing: ``failed``, and the session's kind gives back what it took (``on_refund_failed``)."""
    now = now or timezone.now()
    refund = Refund.objects.select_related("session").get(pk=refund_id)
    if refund.status != Refund.Status.REQUESTED:
        return refund
    Refund.objects.filter(pk=refund.pk).update(attempts=F("attempts") + 1, updated_at=now)
    try:
        answer = gateway.refund_create(
            payment_intent_id=refund.session.stripe_payment_intent_id, amount_cents=refund.amount_cents,
            idempotency_key=refund.idempotency_key,
            metadata={"refund_id": str(refund.pk), "checkout_session_id": str(refund.session_id),
                      "reason": refund.reason[:STRIPE_METADATA_LIMIT]})
    except PaymentProviderError as error:
        return _record_failure(refund, error, now=now)
    with transaction.atomic():
        session = CheckoutSession.objects.select_for_update(of=("self",)).select_related("user").get(
            pk=refund.session_id)
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        # Stripe's events about it may have come first: the answer then only fills in what they did not say.
        outcome = refund_status_apply(session=session, refund=refund, stripe_status=answer.status, now=now,
                                      note=f"Stripe accepted it ({answer.id})", stripe_refund_id=answer.id,
                                      failure_reason=answer.failure_reason)
    logger.info("Refund %s of checkout session %s: %s cents, Stripe %s %s: %s", refund.pk, refund.session_id,
                refund.amount_cents, answer.id, answer.status, outcome)
    return refund


def _record_failure(refund: Refund, error: PaymentProviderError, *, now: datetime) -> Refund:
    message = (error.provider_message or error.user_message)[:FAILURE_LIMIT]
    if error.retryable and not error.session_unusable:
        Refund.objects.filter(pk=refund.pk, status=Refund.Status.REQUESTED).update(failure_message=message)
        refund.refresh_from_db()
        logger.warning("Refund %s could not be sent to Stripe (%s); it is sent again later", refund.pk, message)
        return refund
    with transaction.atomic():
        session = CheckoutSession.objects.select_for_update(of=("self",)).select_related("user").get(
            pk=refund.session_id)
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.status != Refund.Status.REQUESTED:
            return refund
        given_back = refund_status_apply(session=session, refund=refund, stripe_status="failed", now=now,
                                         note=f"Stripe refused it: {message}", failure_message=message)
    logger.error("Refund %s of checkout session %s refused by Stripe (%s): %s", refund.pk, refund.session_id,
                 message, given_back)
    return refund


def refunds_submit_unsent(*, now: datetime | None = None, limit: int = RESEND_BATCH) -> int:
    """Beat: send again the refunds still ``requested`` a while after their last attempt (Stripe was down, or
    the process died between commit and the call). The refunds' own keys make every resend safe."""
    now = now or timezone.now()
    unsent = list(Refund.objects.filter(status=Refund.Status.REQUESTED, updated_at__lte=now - RESEND_AFTER)
                  .order_by("updated_at").values_list("pk", flat=True)[:limit])
    for refund_id in unsent:
        refund_submit(refund_id=refund_id, now=now)
    return len(unsent)


def checkout_session_refund(*, session_id, staff_user, reason: str, now: datetime | None = None,
                            claim: Callable[[], object] | None = None) -> Refund:
    """Staff refund a session's whole payment, after its kind took back what was sold (``on_refund_requested``:
    refused, with nothing changed, when it cannot). Returns the refund: ``pending``/``succeeded`` when Stripe
    accepted it, ``requested`` when Stripe could not be reached (it is sent again by beat). Raises
    ``RefundRefused`` for a bad request, and when Stripe refused (then what was taken back is given back).
    ``claim`` (the admin form's one-time token) runs first in the transaction that records the refund: raising
    there records nothing."""
    reason = (reason or "").strip()
    if not reason:
        raise RefundRefused("Say why the purchase is refunded: the shopper's history and other staff will show it.")
    if staff_user is None or not staff_user.is_staff:
        raise RefundRefused("Only staff members can refund a purchase.")
    now = now or timezone.now()
    with transaction.atomic():
        if claim is not None:
            claim()
        session = (CheckoutSession.objects.select_for_update(of=("self",)).select_related("user")
                   .filter(pk=session_id).first())
        _check_refundable(session)
        # One whole refund per session; after one that failed, the next attempt needs a key of its own.
        attempt = session.refunds.count()
        key = f"checkout:{session.pk}:refund" + (f":{attempt}" if attempt else "")
        refund, created = refund_request(session=session, amount_cents=session.amount_cents, idempotency_key=key,
                                         reason=reason, requested_by=staff_user, now=now)
        if created:
            taken_back = handler_for(session.kind).on_refund_requested(session=session, refund=refund,
                                                                       staff_user=staff_user, now=now)
            logger.info("Checkout session %s: refund %s requested by staff %s, %s", session.pk, refund.pk,
                        staff_user.pk, taken_back)
    refund = refund_submit(refund_id=refund.pk, now=now)
    if refund.status == Refund.Status.FAILED:
        raise RefundRefused(f"Stripe refused the refund ({refund.failure_message}), so nothing was refunded and "
                            f"what was taken back was given back. Check the payment in Stripe's dashboard.")
    return refund


def _check_refundable(session: CheckoutSession | None) -> None:
    if session is None:
        raise RefundRefused("There is no such checkout session.")
    elsewhere = handler_for(session.kind).refund_elsewhere
    if elsewhere:
        raise RefundRefused(elsewhere)
    if session.status != CheckoutSession.Status.COMPLETED:
        raise RefundRefused(f"Only a paid and credited purchase can be refunded; this one is {session.status}.")
    done = session.refunds.exclude(status__in=Refund.UNDONE).first()
    if done is not None:
        raise RefundRefused(f"This purchase was already refunded ({format_money(done.amount_cents, done.currency)} "
                            f"on {done.created_at:%Y-%m-%d %H:%M} UTC).")
