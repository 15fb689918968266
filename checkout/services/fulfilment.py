"""Applying what Stripe says about a checkout session: fulfilling paid ones, ending expired or failed ones.

Webhooks, the reconcile task and "check again" all end here, so a payment is handed to its kind's ``on_paid`` in
one place, exactly once: under the session's row lock, only while it is not yet completed (the handlers add
idempotency keys of their own, such as the wallet's ``stripe:checkout:<Stripe session id>``). Order does not
matter: the mirrored Stripe state only moves forward (open -> complete/expired, unpaid -> paid), an ``expired``
after ``completed`` changes nothing, and a payment for a session we had invalidated or expired is still honoured.
"""

import logging
import uuid
from collections import Counter
from datetime import datetime
from enum import StrEnum

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from checkout import gateway
from checkout.gateway import PaymentProviderError, StripeCheckoutSession
from checkout.kinds import Payment, handler_for, rows_loaded_with_sessions
from checkout.models import CheckoutSession
from checkout.services.transitions import checkout_session_move
from ops.prepared import PreparedQuery

logger = logging.getLogger(__name__)

Status = CheckoutSession.Status
_STATUS_RANK = {"": 0, "open": 1, "expired": 2, "complete": 3}  # a payment outranks any claim of expiry
_PAYMENT_RANK = {"": 0, "unpaid": 1, "no_payment_required": 2, "paid": 2}
ASYNC_FAILURE_MESSAGE = "Your bank did not complete the payment, so nothing was charged. You can try again."
RECONCILE_BATCH = 200


class Outcome(StrEnum):
    CREDITED = "credited"  # paid: the kind's handler fulfilled it (points credited, an order completed)
    ALREADY_COMPLETED = "already completed"
    PENDING = "pending"
    EXPIRED = "expired"
    FAILED = "payment failed"
    UNKNOWN_SESSION = "unknown session"


def checkout_session_sync(*, stripe_session: StripeCheckoutSession, now: datetime | None = None) -> Outcome:
    """Bring our session in line with ``stripe_session`` (from an event or the API) and credit it if paid."""
    now = now or timezone.now()
    # No savepoint inside a caller's transaction (a webhook's): a failure here fails the caller's work as a whole.
    with transaction.atomic(savepoint=False):
        session = _locked_session(stripe_session)
        if session is None:
            return Outcome.UNKNOWN_SESSION
        mirrored = _mirror(session, stripe_session)
        if stripe_session.payment_status == "paid":
            return _complete(session, stripe_session, now=now, save_also=mirrored)
        if session.status == Status.COMPLETED:
            _save(session, mirrored, now=now)
            return Outcome.ALREADY_COMPLETED
        # The mirrored status, not the event's: an "expired" arriving after a "complete" (a bank debit under way)
        # must not stop reconcile from asking about that debit.
        if session.stripe_status == "expired":
            if session.status == Status.ACTIVE:
                checkout_session_move(session, Status.EXPIRED, now=now, awaiting_stripe=False, save_also=mirrored,
                                      note="Stripe expired its session")
            else:
                session.awaiting_stripe = False
                _save(session, [*mirrored, "awaiting_stripe"], now=now)
            return Outcome.EXPIRED
        _save(session, mirrored, now=now)
        return Outcome.PENDING


def checkout_session_async_payment_failed(*, stripe_session: StripeCheckoutSession,
                                          now: datetime | None = None) -> Outcome:
    """The bank debit behind a completed-but-unpaid Stripe session failed: that Stripe session can never be paid
    now, so ours ends (its page offers a fresh one)."""
    now = now or timezone.now()
    with transaction.atomic(savepoint=False):
        session = _locked_session(stripe_session)
        if session is None:
            return Outcome.UNKNOWN_SESSION
        mirrored = _mirror(session, stripe_session)
        if session.status == Status.COMPLETED:
            _save(session, mirrored, now=now)
            return Outcome.ALREADY_COMPLETED
        session.awaiting_stripe, session.failure_message = False, ASYNC_FAILURE_MESSAGE
        changed = [*mirrored, "awaiting_stripe", "failure_message"]
        if session.status == Status.ACTIVE:
            checkout_session_move(session, Status.INVALIDATED, now=now, save_also=changed,
                                  note="the bank debit failed")
        else:
            _save(session, changed, now=now)
        return Outcome.FAILED


def checkout_session_payment_failed(*, checkout_session_id: str, payment_intent_id: str, message: str,
                                    now: datetime | None = None) -> Outcome:
    """A card was declined on Stripe's page. The Stripe session stays open (the shopper may try another card);
    we only keep the reason to show on our pages. Ignored once the session is completed."""
    now = now or timezone.now()
    with transaction.atomic(savepoint=False):
        session = _locked_by_ids(checkout_session_id=checkout_session_id, payment_intent_id=payment_intent_id)
        if session is None:
            return Outcome.UNKNOWN_SESSION
        if session.status == Status.COMPLETED:
            return Outcome.ALREADY_COMPLETED
        session.failure_message = (message or "Your payment was declined.")[:255]
        session.stripe_payment_intent_id = session.stripe_payment_intent_id or payment_intent_id
        session.updated_at = now
        session.save(update_fields=["failure_message", "stripe_payment_intent_id", "updated_at"])
        return Outcome.FAILED


def checkout_session_reconcile(*, session: CheckoutSession, now: datetime | None = None) -> Outcome:
    """Ask Stripe about ``session`` and apply the answer -- for when a webhook is late or lost. A Stripe session
    still open although ours ended (its expiry call failed) is expired now. Raises ``PaymentProviderError``."""
    now = now or timezone.now()
    if not session.stripe_session_id:
        return Outcome.PENDING
    stripe_session = gateway.checkout_session_retrieve(stripe_session_id=session.stripe_session_id)
    outcome = checkout_session_sync(stripe_session=stripe_session, now=now)
    if stripe_session.status == "open":
        status = CheckoutSession.objects.filter(pk=session.pk).values_list("status", flat=True).first()
        if status in (Status.EXPIRED, Status.INVALIDATED):
            stripe_session = gateway.checkout_session_expire(stripe_session_id=session.stripe_session_id)
            outcome = checkout_session_sync(stripe_session=stripe_session, now=now)
    CheckoutSession.objects.filter(pk=session.pk).update(reconciled_at=now)
    return outcome


def checkout_sessions_reconcile_awaiting(*, limit: int = RECONCILE_BATCH, now: datetime | None = None) -> Counter:
    """Reconcile the sessions whose Stripe outcome is unsettled, least recently checked first. One failing call
    does not stop the others; it is retried on the next run."""
    now = now or timezone.now()
    sessions = (CheckoutSession.objects.filter(awaiting_stripe=True)
                .order_by(F("reconciled_at").asc(nulls_first=True), "created_at")[:limit])
    counts: Counter = Counter()
    for session in sessions:
        try:
            counts[checkout_session_reconcile(session=session, now=now).value] += 1
        except PaymentProviderError:
            counts["stripe error"] += 1
            CheckoutSession.objects.filter(pk=session.pk).update(reconciled_at=now)
    if counts:
        logger.info("Reconciled checkout sessions with Stripe: %s", dict(counts))
    return counts


def _complete(session: CheckoutSession, stripe_session: StripeCheckoutSession, *, now: datetime,
              save_also: list[str]) -> Outcome:
    if session.status == Status.COMPLETED:
        _save(session, save_also, now=now)
        return Outcome.ALREADY_COMPLETED
    if (stripe_session.amount_total, stripe_session.currency) != (session.amount_cents, session.currency):
        logger.error("Stripe session %s charged %s %s for checkout session %s priced %s %s; fulfilling the snapshot",
                     stripe_session.id, stripe_session.amount_total, stripe_session.currency, session.pk,
                     session.amount_cents, session.currency)
    payment = Payment(stripe_session_id=stripe_session.id, payment_intent_id=stripe_session.payment_intent or "",
                      amount_cents=stripe_session.amount_total, currency=stripe_session.currency)
    fulfilled = handler_for(session.kind).on_paid(session=session, payment=payment, now=now)
    checkout_session_move(session, Status.COMPLETED, now=now, awaiting_stripe=False, failure_message="",
                          save_also=save_also, note=f"paid (Stripe {stripe_session.id}): {fulfilled}")
    logger.info("Checkout session %s paid (Stripe %s): %s", session.pk, stripe_session.id, fulfilled)
    return Outcome.CREDITED


def _mirror(session: CheckoutSession, stripe_session: StripeCheckoutSession) -> list[str]:
    """Copy Stripe's view onto ours, never backwards (events can arrive in any order). Returns the fields changed
    (the caller saves them with whatever else it changes, in one UPDATE)."""
    changed = []
    if session.stripe_session_id is None:
        session.stripe_session_id = stripe_session.id
        changed.append("stripe_session_id")
        if session.status != Status.COMPLETED and stripe_session.status != "expired" and not session.awaiting_stripe:
            # Learnt from Stripe, not from our own call (its answer was lost): until its outcome is settled,
            # reconcile asks about it like any other.
            session.awaiting_stripe = True
            changed.append("awaiting_stripe")
    if _STATUS_RANK.get(stripe_session.status, 0) > _STATUS_RANK.get(session.stripe_status, 0):
        session.stripe_status = stripe_session.status
        changed.append("stripe_status")
    if _PAYMENT_RANK.get(stripe_session.payment_status, 0) > _PAYMENT_RANK.get(session.stripe_payment_status, 0):
        session.stripe_payment_status = stripe_session.payment_status
        changed.append("stripe_payment_status")
    if stripe_session.payment_intent and not session.stripe_payment_intent_id:
        session.stripe_payment_intent_id = stripe_session.payment_intent
        changed.append("stripe_payment_intent_id")
    return changed


def _save(session: CheckoutSession, fields: list[str], *, now: datetime) -> None:
    if fields:
        session.updated_at = now
        session.save(update_fields=[*fields, "updated_at"])


def _locked_session(stripe_session: StripeCheckoutSession) -> CheckoutSession | None:
    return _locked_by_ids(checkout_session_id=stripe_session.checkout_session_id,
                          stripe_session_id=stripe_session.id)


def _locked_by_ids(*, checkout_session_id: str = "", stripe_session_id: str = "",
                   payment_intent_id: str = "") -> CheckoutSession | None:
    loaded_with = tuple(rows_loaded_with_sessions())
    session = None
    if _is_uuid(checkout_session_id):
        found = _SESSION_LOCKED.rows(loaded_with, session_id=uuid.UUID(str(checkout_session_id)))
        session = found[0] if found else None
        if session and stripe_session_id and session.stripe_session_id not in (None, stripe_session_id):
            logger.warning("Stripe session %s claims checkout session %s, which has Stripe session %s",
                           stripe_session_id, session.pk, session.stripe_session_id)
            session = None
    if session is not None or not (stripe_session_id or payment_intent_id):
        return session
    # The rarer look-ups, by Stripe's ids only: built when needed.
    sessions = CheckoutSession.objects.select_for_update(of=("self",)).select_related("user", *loaded_with)
    if stripe_session_id:
        session = sessions.filter(stripe_session_id=stripe_session_id).first()
    if session is None and payment_intent_id:
        session = sessions.filter(stripe_payment_intent_id=payment_intent_id).first()
    return session


def _session_locked(loaded_with: tuple[str, ...], *, session_id: uuid.UUID):
    return (CheckoutSession.objects.select_for_update(of=("self",)).select_related("user", *loaded_with)
            .filter(pk=session_id).order_by()[:1])


# Every Stripe event about a session of ours finds it by its id: built once per process (and set of rows the
# kinds load with it), run prepared.
_SESSION_LOCKED = PreparedQuery(_session_locked, session_id=uuid.UUID)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
