"""A refund's life once it is recorded: Stripe's answers and events move it, and each move reaches what was sold
through the session's kind, inside the same transaction (session locked first, then its refunds).

Stripe's refund statuses map onto ``Refund.Status``: pending and requires_action -> pending; succeeded; failed;
canceled. A move ``Refund.TRANSITIONS`` does not allow is older or repeated news and changes nothing, so replays
and any delivery order are harmless: a late "succeeded" after "failed" cannot bring a refund back, while "failed"
after "succeeded" is a real move (the customer's bank returned the money).

Which refund an event is about: the one with its Stripe id; else the one named by the ``refund_id`` the shop puts
in the metadata of every refund it creates; else the payment intent's session -- where it may be a refund the shop
recorded from ``charge.refunded``'s amount before knowing its id (same amount, no id yet), and otherwise a refund
made in Stripe's Dashboard, recorded now like a staff refund (``origin`` stripe, nobody as ``requested_by``).

What each move does:

* accepted (requested -> pending or succeeded, or a Dashboard refund recorded): the session's
  ``stripe_refunded_cents`` becomes what its accepted refunds add up to, and the kind's ``on_refunded`` brings
  what was sold in line (an order marked (partially) refunded; a Dashboard refund's points taken back);
* pending -> succeeded: ``on_refunded`` again, with nothing ``increased``;
* failed or canceled (from any status, also after it succeeded): the total drops, the kind's
  ``on_refund_failed`` gives back what the refund took back, and staff are alerted (log + email; the dashboard
  lists such refunds).

``charge.refunded`` names no refund (from API version 2022-11-15 on, the charge carries none): its cumulative
``amount_refunded`` only tells that Stripe has the shop's refunds sent to it (at least pending now), and that a
refund was made outside the shop when it is more than every refund the shop knows for the payment ever added up
to -- counting failed ones too, so that an old event delivered after a failure never looks like a new refund.
"""

import logging
import uuid
from datetime import datetime
from enum import StrEnum

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from checkout.gateway import StripeCharge, StripeRefund
from checkout.kinds import RefundProgress, handler_for
from checkout.models import CheckoutSession, Refund, RefundStatusChange
from checkout.money import format_money
from ops.alerts import staff_alert

logger = logging.getLogger(__name__)

NOTE_LIMIT = RefundStatusChange._meta.get_field("note").max_length
FAILURE_LIMIT = Refund._meta.get_field("failure_message").max_length

STRIPE_STATUSES = {
    "pending": Refund.Status.PENDING,
    "requires_action": Refund.Status.PENDING,
    "succeeded": Refund.Status.SUCCEEDED,
    "failed": Refund.Status.FAILED,
    "canceled": Refund.Status.CANCELED,
}
MADE_IN_STRIPE = "Refunded in Stripe's Dashboard, not through the shop"


class RefundOutcome(StrEnum):
    UNKNOWN_PAYMENT = "unknown payment"
    ALREADY_RECORDED = "refund already recorded"


def refund_move(refund: Refund, target: str, *, now: datetime, note: str = "", **changes) -> Refund:
    """Move ``refund`` (locked by the caller) to ``target`` as ``Refund.TRANSITIONS`` allows, with its history."""
    Refund.TRANSITIONS.check(refund.status, target, what=f"refund {refund.pk}")
    source, refund.status, refund.updated_at = refund.status, target, now
    for name, value in changes.items():
        setattr(refund, name, value)
    refund.save(update_fields=["status", "updated_at", *changes])
    RefundStatusChange.objects.create(refund=refund, from_status=source, to_status=target, note=note[:NOTE_LIMIT],
                                      created_at=now)
    return refund


def accepted_cents(session: CheckoutSession) -> int:
    """What Stripe has accepted to refund of the session's payment: its pending and succeeded refunds."""
    return session.refunds.filter(status__in=Refund.ACCEPTED).aggregate(
        total=Sum("amount_cents", default=0))["total"]


def refund_status_apply(*, session: CheckoutSession, refund: Refund, stripe_status: str, now: datetime,
                        note: str, stripe_refund_id: str = "", failure_reason: str = "",
                        failure_message: str = "") -> str:
    """Apply what Stripe says ``refund`` is (``stripe_status``, Stripe's word) -- ``session`` and ``refund`` locked
    by the caller, inside its transaction -- and carry the move to the session's kind. Returns a few words for
    the logs and the webhook's record. Stripe's id is recorded the first time it is known, whatever the status."""
    target = STRIPE_STATUSES.get(stripe_status)
    changes = {}
    if stripe_refund_id and not refund.stripe_refund_id:
        changes["stripe_refund_id"] = stripe_refund_id
    if target is None:
        logger.warning("Refund %s: Stripe says %r, a status the shop does not know; nothing changed", refund.pk,
                       stripe_status)
        _save_changes(refund, changes, now=now)
        return f"refund {stripe_status or 'without a status'}: not a status the shop knows, nothing changed"
    if refund.status == target or not Refund.TRANSITIONS.allows(refund.status, target):
        _save_changes(refund, changes, now=now)
        if refund.status == target:
            return f"refund already {target}"
        return f"refund already {refund.status}: Stripe's older '{stripe_status}' changes nothing"
    if target in Refund.UNDONE:
        changes["failure_message"] = failure_message[:FAILURE_LIMIT] or _failure_message(target, failure_reason)
    was_accepted = refund.status in Refund.ACCEPTED
    refund_move(refund, target, now=now, note=f"{note} ({stripe_status})" if stripe_status != target else note,
                **changes)
    if target in Refund.UNDONE:
        return _undone(session, refund, was_accepted=was_accepted, now=now)
    if not was_accepted:
        _total_update(session, now=now)
    progress = RefundProgress(refunded_cents=session.stripe_refunded_cents, refund=refund,
                              increased=not was_accepted, made_in_stripe=refund.made_in_stripe)
    return f"refund {target}: {handler_for(session.kind).on_refunded(session=session, progress=progress, now=now)}"


def _save_changes(refund: Refund, changes: dict, *, now: datetime) -> None:
    if changes:
        for name, value in changes.items():
            setattr(refund, name, value)
        refund.updated_at = now
        refund.save(update_fields=["updated_at", *changes])


def _failure_message(target: str, failure_reason: str) -> str:
    if target == Refund.Status.CANCELED:
        return "Stripe canceled the refund."[:FAILURE_LIMIT]
    return f"Stripe could not refund the payment ({failure_reason or 'no reason given'})."[:FAILURE_LIMIT]


def _total_update(session: CheckoutSession, *, now: datetime) -> None:
    total = accepted_cents(session)
    if total > session.amount_cents:
        logger.error("Checkout session %s: its accepted refunds add up to %s cents, more than its %s", session.pk,
                     total, session.amount_cents)
    if total != session.stripe_refunded_cents:
        session.stripe_refunded_cents, session.updated_at = total, now
        session.save(update_fields=["stripe_refunded_cents", "updated_at"])


def _undone(session: CheckoutSession, refund: Refund, *, was_accepted: bool, now: datetime) -> str:
    """A refund failed or was canceled: nothing of it is refunded. What it took back is given back, and staff are
    told (a refund that never went through means money the shopper was promised did not reach them)."""
    _total_update(session, now=now)
    given_back = handler_for(session.kind).on_refund_failed(session=session, refund=refund, now=now)
    when = "after Stripe had accepted it" if was_accepted else "before Stripe accepted it"
    amount = format_money(refund.amount_cents, refund.currency)
    staff_alert(
        subject=f"Refund of {amount} {refund.status}: {session.title}",
        message=(f"The refund {refund.pk} of {amount} ({session.title}, bought by {session.user}) {refund.status} "
                 f"{when}: {refund.failure_message}\n\nWhat the shop did: {given_back}.\n"
                 f"Reason given for the refund: {refund.reason}\nStripe refund: {refund.stripe_refund_id or '-'}; "
                 f"payment: {session.stripe_payment_intent_id or '-'}.\n\nThe shopper has not been refunded. Refund "
                 f"them again from the shop's admin, or in Stripe's Dashboard, once the cause is known."))
    return f"refund {refund.status}: {given_back}"


def stripe_refund_apply(*, stripe_refund: StripeRefund, now: datetime | None = None) -> str:
    """Apply a refund object from Stripe (``refund.created``/``.updated``/``.failed``, ``charge.refund.updated``)
    inside the webhook's transaction. Returns the outcome for the delivery's record."""
    now = now or timezone.now()
    if not stripe_refund.id:
        return RefundOutcome.UNKNOWN_PAYMENT
    with transaction.atomic(savepoint=False):
        known = _refund_of(stripe_refund)
        session_id = known[1] if known else _session_id_paid_by(stripe_refund.payment_intent)
        if session_id is None:
            return RefundOutcome.UNKNOWN_PAYMENT
        session = CheckoutSession.objects.select_for_update(of=("self",)).select_related("user").get(pk=session_id)
        return _apply_to_session(session, stripe_refund, now=now)


def _refund_of(stripe_refund: StripeRefund) -> tuple | None:
    """(refund id, session id) of the shop's refund this is, by Stripe's id, else by the metadata the shop sent."""
    found = Refund.objects.filter(stripe_refund_id=stripe_refund.id).values_list("pk", "session_id").first()
    if found is not None:
        return found
    try:  # metadata anyone could have typed in Stripe's Dashboard
        refund_id = uuid.UUID(stripe_refund.metadata.get("refund_id", ""))
    except ValueError:
        return None
    found = (Refund.objects.filter(pk=refund_id, stripe_refund_id__isnull=True)
             .values_list("pk", "session_id", "session__stripe_payment_intent_id").first())
    if found is None or (stripe_refund.payment_intent and found[2] != stripe_refund.payment_intent):
        return None
    return found[:2]


def _session_id_paid_by(payment_intent: str):
    if not payment_intent:
        return None
    return (CheckoutSession.objects.filter(stripe_payment_intent_id=payment_intent).order_by("created_at")
            .values_list("pk", flat=True).first())


def _apply_to_session(session: CheckoutSession, stripe_refund: StripeRefund, *, now: datetime) -> str:
    """``session`` locked: find (again, under the lock: a concurrent delivery may have recorded it) the refund
    ``stripe_refund`` is, or record it as made in Stripe's Dashboard, and apply its status."""
    refunds = list(session.refunds.select_for_update().order_by("created_at", "id"))
    refund = _match(refunds, stripe_refund)
    if refund is None:
        return _record_made_in_stripe(session, amount_cents=stripe_refund.amount, stripe_status=stripe_refund.status,
                                      stripe_refund_id=stripe_refund.id, failure_reason=stripe_refund.failure_reason,
                                      now=now)
    return refund_status_apply(session=session, refund=refund, stripe_status=stripe_refund.status, now=now,
                               note=f"Stripe: refund {stripe_refund.id} {stripe_refund.status}",
                               stripe_refund_id=stripe_refund.id, failure_reason=stripe_refund.failure_reason)


def _match(refunds: list[Refund], stripe_refund: StripeRefund) -> Refund | None:
    by_id = {refund.stripe_refund_id: refund for refund in refunds if refund.stripe_refund_id}
    if stripe_refund.id in by_id:
        return by_id[stripe_refund.id]
    ours = stripe_refund.metadata.get("refund_id", "")
    for refund in refunds:
        if str(refund.pk) == ours and not refund.stripe_refund_id:
            return refund
    # A refund recorded from charge.refunded's amount before its refund object arrived.
    for refund in refunds:
        if (refund.made_in_stripe and not refund.stripe_refund_id
                and refund.amount_cents == stripe_refund.amount):
            return refund
    return None


def _record_made_in_stripe(session: CheckoutSession, *, amount_cents: int, stripe_status: str, now: datetime,
                           stripe_refund_id: str = "", failure_reason: str = "", note: str = "") -> str:
    """Record a refund of ``session``'s payment that the shop did not ask for, in the status Stripe gives it, and
    apply it like a staff refund when Stripe accepted it (``on_refunded``, ``made_in_stripe``)."""
    target = STRIPE_STATUSES.get(stripe_status)
    if target is None or amount_cents < 1:
        logger.warning("Checkout session %s: Stripe refund %s (%s, %s cents) is not one the shop can record",
                       session.pk, stripe_refund_id, stripe_status, amount_cents)
        return f"refund {stripe_refund_id or ''} made in Stripe not recorded: status {stripe_status!r}"
    count = session.refunds.count()
    key = f"stripe:{stripe_refund_id}" if stripe_refund_id else f"stripe:{session.pk}:refund:{count}"
    refund = Refund.objects.create(
        session=session, amount_cents=amount_cents, currency=session.currency, idempotency_key=key, status=target,
        origin=Refund.Origin.STRIPE, reason=MADE_IN_STRIPE, stripe_refund_id=stripe_refund_id or None,
        failure_message=_failure_message(target, failure_reason) if target in Refund.UNDONE else "",
        created_at=now, updated_at=now)
    RefundStatusChange.objects.create(refund=refund, from_status="", to_status=target, created_at=now,
                                      note=(note or f"Stripe: refund {stripe_refund_id} {stripe_status}, made in "
                                                    f"Stripe's Dashboard")[:NOTE_LIMIT])
    logger.warning("Checkout session %s: %s of its payment %s was refunded in Stripe, not through the shop "
                   "(refund %s, %s)", session.pk, amount_cents, session.stripe_payment_intent_id, refund.pk, target)
    if target in Refund.UNDONE:
        return f"refund made in Stripe recorded, already {target}: nothing to take back"
    _total_update(session, now=now)
    progress = RefundProgress(refunded_cents=session.stripe_refunded_cents, refund=refund, increased=True,
                              made_in_stripe=True)
    taken = handler_for(session.kind).on_refunded(session=session, progress=progress, now=now)
    return f"refund made in Stripe recorded ({target}): {taken}"


def charge_refunded_apply(*, charge: StripeCharge, now: datetime | None = None) -> str:
    """Apply Stripe's ``charge.refunded`` inside the webhook's transaction to the session the payment paid: the
    refunds the charge lists, if it does; then its cumulative ``amount_refunded``: the shop's refunds sent to Stripe
    that it covers are accepted (pending), and what it has beyond every refund the shop knows of was refunded
    outside the shop (recorded, without Stripe's id until a refund event names it). Returns the outcome."""
    now = now or timezone.now()
    if not charge.payment_intent:
        return RefundOutcome.UNKNOWN_PAYMENT
    with transaction.atomic(savepoint=False):
        session = (CheckoutSession.objects.select_for_update(of=("self",)).select_related("user")
                   .filter(stripe_payment_intent_id=charge.payment_intent).order_by("created_at").first())
        if session is None:
            return RefundOutcome.UNKNOWN_PAYMENT
        outcomes = [_apply_to_session(session, listed, now=now) for listed in charge.refunds]
        outcomes += _amount_apply(session, charge, now=now)
    changed = [outcome for outcome in outcomes if not outcome.startswith("refund already")]
    return "; ".join(changed) if changed else RefundOutcome.ALREADY_RECORDED


def _amount_apply(session: CheckoutSession, charge: StripeCharge, *, now: datetime) -> list[str]:
    refunds = list(session.refunds.select_for_update().order_by("created_at", "id"))
    at_stripe = [refund for refund in refunds if refund.status != Refund.Status.REQUESTED or refund.attempts > 0]
    outcomes = []
    covered = sum(refund.amount_cents for refund in refunds if refund.status in Refund.ACCEPTED)
    for refund in at_stripe:
        if refund.status != Refund.Status.REQUESTED:
            continue
        if covered + refund.amount_cents > charge.amount_refunded:
            break
        outcomes.append(refund_status_apply(session=session, refund=refund, stripe_status="pending", now=now,
                                            note="Stripe's charge.refunded counts it"))
        covered += refund.amount_cents
    beyond = charge.amount_refunded - sum(refund.amount_cents for refund in at_stripe)
    if beyond > 0:
        outcomes.append(_record_made_in_stripe(
            session, amount_cents=beyond, stripe_status="pending", now=now,
            note=(f"Stripe's charge.refunded: {format_money(charge.amount_refunded, session.currency)} refunded, "
                  f"{format_money(beyond, session.currency)} more than the shop's refunds; made in Stripe's "
                  f"Dashboard")))
    return outcomes


__all__ = ["RefundOutcome", "accepted_cents", "charge_refunded_apply", "refund_move", "refund_status_apply",
           "stripe_refund_apply"]
