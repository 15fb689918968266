"""Refunds of payments, in two phases so that Stripe is never called while a row lock is held.

1. ``refund_request``, inside the caller's transaction with the session locked: the refund is recorded
   (``Refund``, status ``requested``, an idempotency key of its own) together with whatever the seller takes back
   (a package's points) -- all of it commits, or none.
2. ``refund_submit``, after commit and outside any transaction: Stripe is asked with the refund's key, so a retry
   after a lost answer gets Stripe's first refund back instead of a second one; the answer is recorded in a short
   transaction of its own. Stripe unreachable: the refund stays ``requested`` and ``refunds_submit_unsent``
   (beat) sends it again. Stripe refusing: the refund ``failed``, and its kind gives back what it took
   (``on_refund_failed``).

``charge.refunded`` carries the charge's cumulative ``amount_refunded``. It is applied as ``max(what we have,
what Stripe says)``, never backwards, so replays and events arriving out of order change nothing; it confirms the
session's refunds it covers, and the kind's ``on_refunded`` says what that means for what was sold.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from checkout import gateway
from checkout.errors import RefundRefused
from checkout.gateway import PaymentProviderError, StripeCharge
from checkout.kinds import RefundProgress, handler_for
from checkout.models import CheckoutSession, Refund, RefundStatusChange
from checkout.money import format_money

logger = logging.getLogger(__name__)

REASON_LIMIT = Refund._meta.get_field("reason").max_length
FAILURE_LIMIT = Refund._meta.get_field("failure_message").max_length
STRIPE_METADATA_LIMIT = 500  # Stripe refuses longer metadata values
RESEND_AFTER = timedelta(minutes=1)  # a refund still unsent this long after its last attempt is sent again
RESEND_BATCH = 100

__all__ = ["RefundRefused", "charge_refunded_apply", "checkout_session_refund", "refund_request", "refund_submit",
           "refunds_submit_unsent"]


class RefundOutcome(StrEnum):
    UNKNOWN_PAYMENT = "unknown payment"


def refund_move(refund: Refund, target: str, *, now: datetime, note: str = "", **changes) -> Refund:
    """Move ``refund`` (locked by the caller) to ``target`` as ``Refund.TRANSITIONS`` allows, with its history."""
    Refund.TRANSITIONS.check(refund.status, target, what=f"refund {refund.pk}")
    source, refund.status, refund.updated_at = refund.status, target, now
    for name, value in changes.items():
        setattr(refund, name, value)
    refund.save(update_fields=["status", "updated_at", *changes])
    RefundStatusChange.objects.create(refund=refund, from_status=source, to_status=target, note=note[:500],
                                      created_at=now)
    return refund


def refundable_cents(session: CheckoutSession) -> int:
    """What is left of the session's payment to refund: its amount less every refund that did not fail."""
    counted = session.refunds.exclude(status=Refund.Status.FAILED).aggregate(total=Sum("amount_cents"))["total"]
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
        session = CheckoutSession.objects.select_for_update().get(pk=refund.session_id)
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.status != Refund.Status.REQUESTED:
            return refund  # a confirmation overtook the answer
        target = Refund.Status.SUCCEEDED if answer.status == "succeeded" else Refund.Status.PENDING
        refund_move(refund, target, now=now, note=f"Stripe accepted it ({answer.id}: {answer.status})",
                    stripe_refund_id=answer.id, failure_message="")
        _confirm_covered(session, now=now)  # Stripe's charge.refunded may have come first (an earlier attempt)
    logger.info("Refund %s of checkout session %s: %s cents %s at Stripe (%s)", refund.pk, refund.session_id,
                refund.amount_cents, refund.status, answer.id)
    return refund


def _record_failure(refund: Refund, error: PaymentProviderError, *, now: datetime) -> Refund:
    message = (error.provider_message or error.user_message)[:FAILURE_LIMIT]
    if error.retryable and not error.session_unusable:
        Refund.objects.filter(pk=refund.pk, status=Refund.Status.REQUESTED).update(failure_message=message)
        refund.refresh_from_db()
        logger.warning("Refund %s could not be sent to Stripe (%s); it is sent again later", refund.pk, message)
        return refund
    with transaction.atomic():
        session = CheckoutSession.objects.select_for_update().select_related("user").get(pk=refund.session_id)
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.status != Refund.Status.REQUESTED:
            return refund
        refund_move(refund, Refund.Status.FAILED, now=now, note=f"Stripe refused it: {message}",
                    failure_message=message)
        given_back = handler_for(session.kind).on_refund_failed(session=session, refund=refund, now=now)
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


def checkout_session_refund(*, session_id, staff_user, reason: str, now: datetime | None = None) -> Refund:
    """Staff refund a session's whole payment, after its kind took back what was sold (``on_refund_requested``:
    refused, with nothing changed, when it cannot). Returns the refund: ``pending``/``succeeded`` when Stripe
    accepted it, ``requested`` when Stripe could not be reached (it is sent again by beat). Raises
    ``RefundRefused`` for a bad request, and when Stripe refused (then what was taken back is given back)."""
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
    done = session.refunds.exclude(status=Refund.Status.FAILED).first()
    if done is not None:
        raise RefundRefused(f"This purchase was already refunded ({format_money(done.amount_cents, done.currency)} "
                            f"on {done.created_at:%Y-%m-%d %H:%M} UTC).")


def charge_refunded_apply(*, charge: StripeCharge, now: datetime | None = None) -> str:
    """Apply Stripe's ``charge.refunded`` inside the webhook's transaction to the session the payment paid: the
    amount Stripe refunded so far, the refunds of ours it covers, then its kind's ``on_refunded``. Returns the
    outcome, for the delivery's record."""
    now = now or timezone.now()
    if not charge.payment_intent:
        return RefundOutcome.UNKNOWN_PAYMENT
    with transaction.atomic(savepoint=False):
        session = (CheckoutSession.objects.select_for_update(of=("self",)).select_related("user")
                   .filter(stripe_payment_intent_id=charge.payment_intent).order_by("created_at").first())
        if session is None:
            return RefundOutcome.UNKNOWN_PAYMENT
        increased = charge.amount_refunded > session.stripe_refunded_cents
        if increased:
            session.stripe_refunded_cents, session.updated_at = charge.amount_refunded, now
            session.save(update_fields=["stripe_refunded_cents", "updated_at"])
        requested = _confirm_covered(session, now=now)
        progress = RefundProgress(refunded_cents=session.stripe_refunded_cents, increased=increased,
                                  requested_cents=requested)
        return handler_for(session.kind).on_refunded(session=session, progress=progress, now=now)


def _confirm_covered(session: CheckoutSession, *, now: datetime) -> int:
    """Mark ``succeeded`` the session's refunds that Stripe's cumulative refunded amount covers, oldest first
    (refunds sent to Stripe at least once; one never sent cannot be what Stripe refunded). Returns what the
    session's refunds add up to, failed ones not counted."""
    refunds = list(session.refunds.select_for_update().order_by("created_at", "id"))
    covered = sum(refund.amount_cents for refund in refunds if refund.status == Refund.Status.SUCCEEDED)
    for refund in _awaiting_confirmation(refunds):
        if covered + refund.amount_cents > session.stripe_refunded_cents:
            break
        refund_move(refund, Refund.Status.SUCCEEDED, now=now, note="confirmed by Stripe's charge.refunded")
        covered += refund.amount_cents
    return sum(refund.amount_cents for refund in refunds if refund.counts)


def _awaiting_confirmation(refunds: Iterable[Refund]) -> list[Refund]:
    return [refund for refund in refunds if refund.status == Refund.Status.PENDING
            or (refund.status == Refund.Status.REQUESTED and refund.attempts > 0)]
