"""Comparing the shop's books with Stripe's: ``stripe_reconcile`` (a management command) and a daily beat task.

For a window of time, Stripe's checkout sessions, charges, refunds and disputes are listed (stripe-python pages
through them) and compared with what the shop recorded:

* paid there and not credited here (a session Stripe says is paid that is not completed here, or that the shop
  made and no longer has);
* credited here without a paid session there (completed here, unpaid or unknown at Stripe; and each kind's
  deliveries -- points, orders -- without a completed session behind them);
* refunded there and not here (a charge's refunded amount above what the shop recorded; a refund Stripe made
  that the shop has no record of), or refunded here and not there;
* a dispute Stripe opened on a payment of ours that the shop has no record of.

Reading only: nothing is changed, so running it again (or over an overlapping window) is harmless. Every run is
kept as a ``StripeBooksCheck``; the newest is on the staff dashboard. Objects that carry none of the shop's
metadata and match none of its ids (another integration on the same Stripe account) are not the shop's business.
"""

import logging
from dataclasses import asdict
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from checkout import gateway
from checkout.gateway import PaymentProviderError
from checkout.kinds import BooksDifference, registered
from checkout.models import CheckoutSession, Dispute, Refund, StripeBooksCheck
from checkout.money import format_money

logger = logging.getLogger(__name__)

# Events still on their way are not differences: the newest few minutes are left to the next run.
SETTLING_TIME = timedelta(minutes=15)
DAILY_WINDOW = timedelta(days=3)  # the daily run looks back this far, so a day missed by beat is still covered
REFUNDS_THAT_COUNT = {"pending", "succeeded", "requires_action"}


class BooksCheckFailed(Exception):
    """Stripe could not be asked; the check is recorded with the error."""


def stripe_books_check(*, since: datetime, until: datetime | None = None,
                       now: datetime | None = None) -> StripeBooksCheck:
    """Compare [since, until) (until defaults to a few minutes ago) and record the result. Raises
    ``BooksCheckFailed`` (after recording it) when Stripe cannot be listed."""
    now = now or timezone.now()
    if until is None:
        # Events still on their way are left to the next run -- unless the window is all recent.
        until = now - SETTLING_TIME if now - SETTLING_TIME > since else now
    if until <= since:
        raise ValueError("The window is empty: its start must be before its end.")
    try:
        compared, differences = _compare(since=since, until=until)
    except PaymentProviderError as error:
        message = error.provider_message or error.user_message
        StripeBooksCheck.objects.create(ran_at=now, since=since, until=until, error=message)
        logger.error("Books check %s - %s could not list Stripe's objects: %s", since, until, message)
        raise BooksCheckFailed(message) from error
    check = StripeBooksCheck.objects.create(
        ran_at=now, since=since, until=until, compared=compared, difference_count=len(differences),
        differences=[asdict(difference) for difference in differences])
    log = logger.error if differences else logger.info
    log("Books check %s - %s: compared %s, %d differences", since, until, compared, len(differences))
    return check


def stripe_books_check_daily(*, now: datetime | None = None) -> StripeBooksCheck:
    now = now or timezone.now()
    return stripe_books_check(since=now - DAILY_WINDOW, until=now - SETTLING_TIME, now=now)


def stripe_books_latest() -> StripeBooksCheck | None:
    return StripeBooksCheck.objects.order_by("-ran_at").first()


def _compare(*, since: datetime, until: datetime) -> tuple[dict, list[BooksDifference]]:
    listed = {resource: gateway.stripe_objects_created(resource=resource, since=since, until=until)
              for resource in ("checkout_sessions", "charges", "refunds", "disputes")}
    differences = [
        *_sessions(listed["checkout_sessions"], since=since, until=until),
        *_refunds(listed["charges"], listed["refunds"], since=since, until=until),
        *_disputes(listed["disputes"]),
    ]
    for kind in registered():
        differences += kind.books_differences(since=since, until=until)
    return {resource: len(objects) for resource, objects in listed.items()}, differences


def _sessions(stripe_sessions, *, since: datetime, until: datetime) -> list[BooksDifference]:
    differences = []
    by_stripe_id = {stripe.id: stripe for stripe in stripe_sessions}
    ours = {session.stripe_session_id: session for session in CheckoutSession.objects.filter(
        stripe_session_id__in=list(by_stripe_id)).only("id", "status", "stripe_session_id", "amount_cents",
                                                       "currency")}
    for stripe in stripe_sessions:
        session = ours.get(stripe.id)
        made_here = bool(stripe.metadata.get("checkout_session_id"))
        if stripe.payment_status != "paid" or (session is None and not made_here):
            continue
        money = format_money(stripe.amount_total, stripe.currency.upper())
        if session is None:
            differences.append(BooksDifference(
                "paid_session_unknown", f"Stripe session {stripe.id} was paid {money}, and the shop made it "
                f"(checkout session {stripe.checkout_session_id}) but has no record of it any more.",
                stripe_id=stripe.id, checkout_session_id=stripe.checkout_session_id,
                amount_cents=stripe.amount_total, currency=stripe.currency))
        elif session.status != CheckoutSession.Status.COMPLETED:
            differences.append(BooksDifference(
                "paid_not_credited", f"Stripe session {stripe.id} was paid {money}; the shop's checkout session "
                f"is {session.status}, so nothing was delivered.", stripe_id=stripe.id,
                checkout_session_id=str(session.pk), amount_cents=stripe.amount_total, currency=stripe.currency))
        elif (stripe.amount_total, stripe.currency.upper()) != (session.amount_cents, session.currency.upper()):
            differences.append(BooksDifference(
                "amount_differs", f"Stripe session {stripe.id} was paid {money}; the shop sold it for "
                f"{format_money(session.amount_cents, session.currency)}.", stripe_id=stripe.id,
                checkout_session_id=str(session.pk), amount_cents=stripe.amount_total, currency=stripe.currency))
    completed_here = (CheckoutSession.objects.filter(status=CheckoutSession.Status.COMPLETED)
                      .filter(Q(completed_at__gte=since, completed_at__lt=until)
                              | Q(created_at__gte=since, created_at__lt=until))
                      .only("id", "stripe_session_id", "amount_cents", "currency"))
    for session in completed_here:
        stripe = by_stripe_id.get(session.stripe_session_id) if session.stripe_session_id else None
        if stripe is None and session.stripe_session_id:
            stripe = _retrieved(session.stripe_session_id)  # made before the window, paid within it
        if stripe is not None and stripe.payment_status == "paid":
            continue
        at_stripe = "unknown to Stripe" if stripe is None else f"{stripe.payment_status} at Stripe"
        differences.append(BooksDifference(
            "credited_not_paid", f"Checkout session {session.pk} was completed here "
            f"({format_money(session.amount_cents, session.currency)}) but its Stripe session "
            f"{session.stripe_session_id or '(none)'} is {at_stripe}.", stripe_id=session.stripe_session_id or "",
            checkout_session_id=str(session.pk), amount_cents=session.amount_cents, currency=session.currency))
    return differences


def _retrieved(stripe_session_id: str):
    try:
        return gateway.checkout_session_retrieve(stripe_session_id=stripe_session_id)
    except PaymentProviderError as error:
        if error.code == "resource_missing":
            return None
        raise


def _refunds(charges, stripe_refunds, *, since: datetime, until: datetime) -> list[BooksDifference]:
    differences = []
    intents = {charge.payment_intent for charge in charges} | {refund.payment_intent for refund in stripe_refunds}
    sessions = {session.stripe_payment_intent_id: session for session in CheckoutSession.objects.filter(
        stripe_payment_intent_id__in=[intent for intent in intents if intent]).only(
        "id", "stripe_payment_intent_id", "currency")}
    recorded = _recorded_refund_cents(sessions.values())
    flagged = set()
    for charge in charges:
        session = sessions.get(charge.payment_intent)
        if session is None or charge.amount_refunded <= recorded.get(session.pk, 0):
            continue
        flagged.add(session.pk)
        differences.append(BooksDifference(
            "refunded_not_here", f"Stripe refunded {format_money(charge.amount_refunded, charge.currency.upper())} "
            f"of charge {charge.id}; the shop records "
            f"{format_money(recorded.get(session.pk, 0), session.currency)} refunded for checkout session "
            f"{session.pk}.", stripe_id=charge.id, checkout_session_id=str(session.pk),
            amount_cents=charge.amount_refunded - recorded.get(session.pk, 0), currency=charge.currency))
    ours = {refund.stripe_refund_id: refund for refund in Refund.objects.filter(
        stripe_refund_id__in=[refund.id for refund in stripe_refunds])}
    for stripe in stripe_refunds:
        refund, session = ours.get(stripe.id), sessions.get(stripe.payment_intent)
        counts_there = stripe.status in REFUNDS_THAT_COUNT
        money = format_money(stripe.amount, stripe.currency.upper())
        if refund is None:
            if session is not None and counts_there and session.pk not in flagged:
                differences.append(BooksDifference(
                    "refunded_not_here", f"Stripe refund {stripe.id} ({money}, {stripe.status}) of checkout session "
                    f"{session.pk}'s payment has no record in the shop.", stripe_id=stripe.id,
                    checkout_session_id=str(session.pk), amount_cents=stripe.amount, currency=stripe.currency))
        elif counts_there != refund.counts:
            differences.append(BooksDifference(
                "refund_status_differs", f"Refund {refund.pk} ({money}) is {refund.status} in the shop and "
                f"{stripe.status} at Stripe ({stripe.id}).", stripe_id=stripe.id,
                checkout_session_id=str(refund.session_id), amount_cents=stripe.amount, currency=stripe.currency))
    listed = {stripe.id for stripe in stripe_refunds}
    sent_here = (Refund.objects.filter(created_at__gte=since, created_at__lt=until, stripe_refund_id__isnull=False)
                 .exclude(status=Refund.Status.FAILED).exclude(stripe_refund_id__in=listed))
    for refund in sent_here:
        differences.append(BooksDifference(
            "refunded_here_not_there", f"Refund {refund.pk} ({format_money(refund.amount_cents, refund.currency)}) is "
            f"{refund.status} in the shop, but Stripe lists no refund {refund.stripe_refund_id} in the window.",
            stripe_id=refund.stripe_refund_id, checkout_session_id=str(refund.session_id),
            amount_cents=refund.amount_cents, currency=refund.currency))
    return differences


def _recorded_refund_cents(sessions) -> dict:
    """What the shop knows was refunded of each session's payment: the most of Stripe's last word and its own
    refunds that did not fail."""
    totals: dict = {}
    for refund in Refund.objects.filter(session__in=list(sessions)).exclude(status=Refund.Status.FAILED):
        totals[refund.session_id] = totals.get(refund.session_id, 0) + refund.amount_cents
    for session in CheckoutSession.objects.filter(pk__in=[session.pk for session in sessions]).only(
            "id", "stripe_refunded_cents"):
        totals[session.pk] = max(totals.get(session.pk, 0), session.stripe_refunded_cents)
    return totals


def _disputes(stripe_disputes) -> list[BooksDifference]:
    """Disputes of payments of ours that the shop has not recorded."""
    if not stripe_disputes:
        return []
    sessions = {session.stripe_payment_intent_id: session for session in CheckoutSession.objects.filter(
        stripe_payment_intent_id__in=[dispute.payment_intent for dispute in stripe_disputes if dispute.payment_intent])
        .only("id", "stripe_payment_intent_id")}
    known = _recorded_dispute_ids([dispute.id for dispute in stripe_disputes])
    differences = []
    for dispute in stripe_disputes:
        session = sessions.get(dispute.payment_intent)
        if session is None or dispute.id in known:
            continue
        differences.append(BooksDifference(
            "dispute_not_here",
            f"Stripe dispute {dispute.id} ({format_money(dispute.amount, dispute.currency.upper())}, "
            f"{dispute.status}) of checkout session {session.pk}'s payment has no record in the shop.",
            stripe_id=dispute.id, checkout_session_id=str(session.pk), amount_cents=dispute.amount,
            currency=dispute.currency))
    return differences


def _recorded_dispute_ids(ids: list[str]) -> set[str]:
    return set(Dispute.objects.filter(stripe_dispute_id__in=ids).values_list("stripe_dispute_id", flat=True))
