"""Payments for checkout sessions the shop no longer has.

Since the purge spares every session a payment may still arrive for (``checkout.models.PURGEABLE``), this only
happens to sessions deleted before it did: a bank debit that settled after the cleanup had deleted its
completed-but-unpaid session. Stripe's session still says it is ours (the metadata every session is created with:
``checkout_session_id``, ``kind``, ``user_id``), so the payment is never ignored:

* it is always logged as an error and its webhook record is marked ``attention``, its ``error`` beginning with
  ``PAID_SESSION_NOT_FOUND`` and saying what was done;
* it is refunded in full, automatically, when that is safe: the shopper's account still exists and no session of
  ours holds that Stripe session, its id or its payment. Nothing was delivered for such a payment -- a session is
  only ever completed (and what it sold handed over) in the transaction that records its payment, and the purge
  never deleted a completed one -- and what it sold cannot be rebuilt (a deleted session takes its seller's rows,
  such as the points package's snapshot, with it), so giving the money back is the one answer that is right
  whatever was sold. The session is restored as a record of kind ``RESTORED`` (completed: its payment arrived),
  and the refund goes the usual way: recorded now, sent to Stripe after commit (``refunds_send_unsent`` retries),
  confirmed by ``charge.refunded``.
* Otherwise staff decide (the record says why it was not refunded).
"""

import logging
import uuid
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q

from checkout.gateway import StripeCheckoutSession
from checkout.kinds import SessionKind, UnknownSessionKind, handler_for
from checkout.models import CheckoutSession, CheckoutSessionStatusChange, WebhookEvent
from checkout.money import format_money
from checkout.services.fulfilment import checkout_session_sync
from checkout.services.refunds import refund_request

logger = logging.getLogger(__name__)

PAID_SESSION_NOT_FOUND = "paid session not found"
RESTORED = "restored_payment"
TITLE_LIMIT = CheckoutSession._meta.get_field("title").max_length
# A restored session was never offered to anyone; the database only wants its expiry after its start.
RECORD_ONLY_LIFETIME = timedelta(seconds=1)


class RestoredPaymentKind(SessionKind):
    """Sessions restored only to hold the refund of a payment that arrived after their session was deleted: there is
    nothing to fulfil or take back; ``charge.refunded`` confirms the refund on the session's own record."""

    name = RESTORED
    refund_elsewhere = "This payment arrived after its checkout session was deleted; it was refunded automatically."

    def on_paid(self, *, session, payment, now: datetime) -> str:
        return "nothing to fulfil: the session had been deleted"

    def on_refunded(self, *, session, progress, now: datetime) -> str:
        return "refund of a payment for a deleted session confirmed"


def stripe_payment_without_session(*, stripe_session: StripeCheckoutSession,
                                   now: datetime) -> tuple[str, str] | None:
    """For a Stripe session that matches no session of ours: if it is paid and its metadata says the shop created
    it, record that for staff and refund it when safe (see the module). Returns the webhook record's status and
    words, or None when it is not a paid session of ours (the caller ignores it, as before). Runs inside the
    delivery's transaction."""
    claim = _claim(stripe_session)
    if claim is None:
        return None
    session_id, kind, user_id = claim
    paid = format_money(stripe_session.amount_total, stripe_session.currency)
    found = (f"{PAID_SESSION_NOT_FOUND}: Stripe session {stripe_session.id} was paid ({paid}, payment "
             f"{stripe_session.payment_intent or 'unknown'}) for checkout session {session_id} ({kind} of user "
             f"{user_id}), which the shop no longer has")
    unsafe = _why_not_refundable(stripe_session, session_id=session_id, user_id=user_id)
    if unsafe:
        logger.error("%s. NOT refunded automatically: %s. Refund it in Stripe's dashboard or make it good by hand.",
                     found, unsafe)
        return WebhookEvent.Status.ATTENTION, (f"{found}. NOT refunded automatically: {unsafe}. Refund it in "
                                               f"Stripe's dashboard, or make it good by hand.")
    try:
        with transaction.atomic():
            session, refund = _restore_and_refund(stripe_session, session_id=session_id, kind=kind,
                                                  user_id=user_id, now=now)
    except IntegrityError:
        # Another delivery about the same payment restored it first (its insert won): this one finds it now.
        return WebhookEvent.Status.PROCESSED, checkout_session_sync(stripe_session=stripe_session, now=now).value
    refund_id = str(refund.pk)
    transaction.on_commit(lambda: _submit_refund(refund_id))
    logger.error("%s. Restored it as a record and refunded it in full automatically (refund %s).", found, refund_id)
    return WebhookEvent.Status.ATTENTION, (f"{found}. Nothing was delivered for it: restored as a record and "
                                           f"refunded in full automatically (refund {refund_id}).")


def _claim(stripe_session: StripeCheckoutSession) -> tuple[uuid.UUID, str, str] | None:
    """(our session id, kind, user id) when the Stripe session is paid and carries the metadata the shop gives
    every session it creates; None otherwise."""
    if stripe_session.payment_status != "paid":
        return None
    metadata = stripe_session.metadata
    kind, user_id = str(metadata.get("kind") or ""), str(metadata.get("user_id") or "")
    try:
        session_id = uuid.UUID(str(metadata.get("checkout_session_id") or ""))
        handler_for(kind)
    except (ValueError, UnknownSessionKind):
        return None
    if not user_id:
        return None
    return session_id, kind, user_id


def _why_not_refundable(stripe_session: StripeCheckoutSession, *, session_id: uuid.UUID, user_id: str) -> str:
    if not stripe_session.payment_intent:
        return "Stripe did not say which payment it was"
    if stripe_session.amount_total <= 0 or len(stripe_session.currency) != 3:
        return f"Stripe reported an amount of {stripe_session.amount_total} {stripe_session.currency!r}"
    ours = (CheckoutSession.objects.filter(Q(pk=session_id) | Q(stripe_payment_intent_id=stripe_session.payment_intent))
            .values_list("pk", "stripe_session_id").first())
    if ours is not None:
        return (f"checkout session {ours[0]} exists with Stripe session {ours[1] or 'none'}, so this payment may have "
                f"paid for something after all")
    if not user_id.isdigit() or not get_user_model().objects.filter(pk=int(user_id)).exists():
        return f"user {user_id} no longer exists"
    return ""


def _restore_and_refund(stripe_session: StripeCheckoutSession, *, session_id: uuid.UUID, kind: str, user_id: str,
                        now: datetime):
    note = (f"restored: Stripe session {stripe_session.id} was paid after this {kind} session had been deleted by "
            f"the cleanup; nothing was delivered for it, so it is refunded in full")
    session = CheckoutSession.objects.create(
        id=session_id, user_id=int(user_id), kind=RESTORED,
        title=f"Paid after its checkout was deleted ({kind})"[:TITLE_LIMIT],
        amount_cents=stripe_session.amount_total, currency=stripe_session.currency.lower(),
        status=CheckoutSession.Status.COMPLETED, created_at=now, updated_at=now, completed_at=now,
        expires_at=now + RECORD_ONLY_LIFETIME, stripe_session_id=stripe_session.id,
        stripe_payment_intent_id=stripe_session.payment_intent, stripe_status=stripe_session.status,
        stripe_payment_status=stripe_session.payment_status, awaiting_stripe=False)
    CheckoutSessionStatusChange.objects.create(session=session, from_status="", to_status=session.status,
                                               note=note, created_at=now)
    refund, _created = refund_request(
        session=session, amount_cents=session.amount_cents, idempotency_key=f"checkout:{session.pk}:deleted-refund",
        reason="Paid after its checkout session had been deleted: nothing was delivered, so it is refunded in full.",
        now=now)
    return session, refund


def _submit_refund(refund_id: str) -> None:
    from checkout.tasks import submit_refund  # the tasks module imports the services: imported when used

    submit_refund.delay(refund_id)
