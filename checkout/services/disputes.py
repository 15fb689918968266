"""Disputes of session payments, mirrored from Stripe's ``charge.dispute.*`` events (created, updated, closed,
funds_withdrawn, funds_reinstated): every one of them carries the whole dispute, so all are applied the same way.

Under the lock of the session whose payment is disputed (found by the dispute's payment intent):

* the first event about a dispute, whichever it is, makes its row and calls the session kind's
  ``on_dispute_opened``; staff are emailed after commit;
* the mirrored fields follow Stripe, the status only forward (``Dispute.TRANSITIONS``): an older event, or an
  ``updated`` after ``closed``, changes no status and never reopens a dispute;
* the first closed status seen sets the outcome and calls ``on_dispute_closed`` -- after ``on_dispute_opened``,
  even when ``closed`` is the first event to arrive.

So each hook runs once per dispute, and replays change nothing. A dispute about a payment that is not ours is not
stored. Only payments made through a PaymentIntent can be ours (Checkout always makes one), so a dispute without
one -- directly or on an expanded charge -- is not ours either, and no call to Stripe is made to find out.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from checkout.gateway import StripeDispute, stripe_dashboard_url
from checkout.kinds import handler_for, rows_loaded_with_sessions
from checkout.models import CheckoutSession, Dispute, DisputeStatusChange
from checkout.money import format_money
from ops.alerts import staff_recipients

logger = logging.getLogger(__name__)

NOTE_LIMIT = DisputeStatusChange._meta.get_field("note").max_length
SELLER_NOTE_LIMIT = Dispute._meta.get_field("seller_note").max_length
REASON_LIMIT = Dispute._meta.get_field("reason").max_length
# A status Stripe adds after this code was written is taken as the most cautious one: open, answer needed.
UNKNOWN_STATUS_FALLBACK = Dispute.Status.NEEDS_RESPONSE


class DisputeOutcome(StrEnum):
    UNKNOWN_PAYMENT = "unknown payment"
    OPENED = "dispute opened"
    UPDATED = "dispute updated"
    CLOSED = "dispute closed"
    UNCHANGED = "dispute unchanged"


@dataclass(frozen=True)
class DisputeApplied:
    outcome: DisputeOutcome
    dispute: Dispute | None = None
    words: str = ""

    def __str__(self):
        return f"{self.outcome}: {self.words}" if self.words else str(self.outcome)


def dispute_apply(*, stripe_dispute: StripeDispute, now: datetime | None = None) -> DisputeApplied:
    """Apply what Stripe says about a dispute, inside the webhook's transaction (see the module's docstring)."""
    now = now or timezone.now()
    if not stripe_dispute.id or not stripe_dispute.payment_intent:
        return DisputeApplied(DisputeOutcome.UNKNOWN_PAYMENT, words=f"no payment intent of ours on "
                                                                    f"{stripe_dispute.id or 'the dispute'}")
    with transaction.atomic(savepoint=False):
        # The session first, then its dispute: the same order as every other path that changes a session.
        session = (CheckoutSession.objects.select_for_update(of=("self",))
                   .select_related("user", *rows_loaded_with_sessions())
                   .filter(stripe_payment_intent_id=stripe_dispute.payment_intent).order_by("created_at").first())
        if session is None:
            return DisputeApplied(DisputeOutcome.UNKNOWN_PAYMENT,
                                  words=f"{stripe_dispute.id} disputes {stripe_dispute.payment_intent}")
        dispute = Dispute.objects.select_for_update().filter(stripe_dispute_id=stripe_dispute.id).first()
        if dispute is None:
            dispute = _open(session, stripe_dispute, now=now)
            outcome, words, source = DisputeOutcome.OPENED, dispute.seller_note, dispute.status
        else:
            source = dispute.status
            outcome, words = _mirror(dispute, stripe_dispute, now=now)
        if dispute.status in Dispute.OUTCOMES and not dispute.outcome:
            settled = _close(session, dispute, source=source, now=now)
            words = f"{words}; {settled}" if outcome == DisputeOutcome.OPENED else settled
            outcome = DisputeOutcome.CLOSED
    logger.info("Stripe dispute %s of checkout session %s (%s, %s): %s", dispute.stripe_dispute_id, session.pk,
                dispute.status, format_money(dispute.amount_cents, dispute.currency), words or outcome)
    return DisputeApplied(outcome, dispute, words)


def _status_of(stripe_dispute: StripeDispute) -> str | None:
    if stripe_dispute.status in Dispute.Status.values:
        return stripe_dispute.status
    logger.error("Stripe dispute %s has the status %r, which the shop does not know", stripe_dispute.id,
                 stripe_dispute.status)
    return None


def _open(session: CheckoutSession, stripe_dispute: StripeDispute, *, now: datetime) -> Dispute:
    status = _status_of(stripe_dispute) or UNKNOWN_STATUS_FALLBACK
    dispute = Dispute.objects.create(
        stripe_dispute_id=stripe_dispute.id, session=session, stripe_payment_intent_id=stripe_dispute.payment_intent,
        stripe_charge_id=stripe_dispute.charge, amount_cents=stripe_dispute.amount,
        currency=stripe_dispute.currency or session.currency, reason=stripe_dispute.reason[:REASON_LIMIT],
        status=status, evidence_due_by=stripe_dispute.evidence_due_by, opened_at=stripe_dispute.created or now,
        created_at=now, updated_at=now)
    held = handler_for(session.kind).on_dispute_opened(session=session, dispute=dispute, now=now)
    dispute.seller_note = held[:SELLER_NOTE_LIMIT]
    dispute.save(update_fields=["seller_note"])
    _history(dispute, "", status, note=f"opened ({stripe_dispute.reason or 'no reason given'}): {held}", now=now)
    dispute_id = str(dispute.pk)
    transaction.on_commit(lambda: _queue_alert(dispute_id), robust=True)
    return dispute


def _mirror(dispute: Dispute, stripe_dispute: StripeDispute, *, now: datetime) -> tuple[DisputeOutcome, str]:
    """Stripe's view onto ours. Amounts and dates follow the latest event; the status only moves forward."""
    changed = []
    for name, value in (("amount_cents", stripe_dispute.amount), ("reason", stripe_dispute.reason[:REASON_LIMIT]),
                        ("evidence_due_by", stripe_dispute.evidence_due_by),
                        ("stripe_charge_id", stripe_dispute.charge)):
        if value and getattr(dispute, name) != value and dispute.is_open:
            setattr(dispute, name, value)
            changed.append(name)
    status = _status_of(stripe_dispute)
    moved = status is not None and status != dispute.status and Dispute.TRANSITIONS.allows(dispute.status, status)
    if status and status != dispute.status and not moved:
        logger.info("Stripe dispute %s: %s after %s is not applied (events out of order, or the dispute closed)",
                    dispute.stripe_dispute_id, status, dispute.status)
    if moved:
        if status not in Dispute.OUTCOMES:  # a closing move is recorded by _close, with what it settled
            _history(dispute, dispute.status, status, note="reported by Stripe", now=now)
        dispute.status = status
        changed.append("status")
    if not changed:
        return DisputeOutcome.UNCHANGED, ""
    dispute.updated_at = now
    dispute.save(update_fields=[*changed, "updated_at"])
    return DisputeOutcome.UPDATED, ", ".join(changed)


def _close(session: CheckoutSession, dispute: Dispute, *, source: str, now: datetime) -> str:
    dispute.outcome, dispute.closed_at, dispute.updated_at = Dispute.OUTCOMES[dispute.status], now, now
    won = dispute.outcome == Dispute.Outcome.WON
    settled = handler_for(session.kind).on_dispute_closed(session=session, dispute=dispute, won=won, now=now)
    dispute.seller_note = settled[:SELLER_NOTE_LIMIT]
    dispute.save(update_fields=["outcome", "closed_at", "updated_at", "seller_note"])
    _history(dispute, source, dispute.status, note=f"closed, {dispute.outcome}: {settled}", now=now)
    return settled


def _history(dispute: Dispute, source: str, target: str, *, note: str, now: datetime) -> None:
    DisputeStatusChange.objects.create(dispute=dispute, from_status=source, to_status=target,
                                       note=note[:NOTE_LIMIT], created_at=now)


# --- telling staff ------------------------------------------------------------------------------------------

def _queue_alert(dispute_id: str) -> None:
    from checkout.tasks import send_dispute_alert  # the tasks module imports the services: imported when used

    send_dispute_alert.delay(dispute_id)


def dispute_alert_send(*, dispute_id) -> bool:
    """Email staff that a dispute opened, at most once: the task may run twice (acks_late), so the send is
    claimed with a conditional UPDATE first and the claim released if sending fails (the task retries)."""
    claimed = Dispute.objects.filter(pk=dispute_id, staff_alerted_at__isnull=True).update(
        staff_alerted_at=timezone.now())
    if not claimed:
        return False
    dispute = Dispute.objects.select_related("session__user").get(pk=dispute_id)
    recipients = staff_recipients()
    if not recipients:
        logger.error("Stripe dispute %s opened, but no staff member has an email address and ADMINS is empty",
                     dispute.stripe_dispute_id)
        return False
    session = dispute.session
    url = handler_for(session.kind).staff_url(session)
    context = {"dispute": dispute, "session": session, "amount": format_money(dispute.amount_cents, dispute.currency),
               "dispute_url": settings.SITE_URL + reverse("admin:checkout_dispute_change", args=[dispute.pk]),
               "sold_url": settings.SITE_URL + url if url else "",
               "stripe_url": stripe_dashboard_url(f"disputes/{dispute.stripe_dispute_id}")}
    due = f", evidence due by {dispute.evidence_due_by:%Y-%m-%d %H:%M} UTC" if dispute.evidence_due_by else ""
    try:
        send_mail(subject=f"Dispute opened: {context['amount']} for {session.title}{due}",
                  message=render_to_string("checkout/email/dispute_opened.txt", context),
                  from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=recipients)
    except Exception:
        Dispute.objects.filter(pk=dispute_id).update(staff_alerted_at=None)
        raise
    return True
