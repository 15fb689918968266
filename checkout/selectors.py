from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.utils import timezone

from checkout.kinds import handler_for
from checkout.models import CheckoutSession, Dispute, Refund
from checkout.money import format_money

MAX_CHAIN = 50


class Whereabouts(StrEnum):
    """Where a shopper who opened a checkout session continues."""

    CURRENT = "current"  # the session itself: active and unexpired
    MOVED = "moved"  # it was renewed (another tab): its active successor
    COMPLETED = "completed"  # it, or what replaced it, is paid
    ENDED = "ended"  # it, or the last of its successors, ended unpaid (or is overdue)


@dataclass(frozen=True)
class Follow:
    session: CheckoutSession
    whereabouts: Whereabouts


def checkout_session_whereabouts(*, session: CheckoutSession, now: datetime | None = None) -> Follow:
    """Where the shopper continues from ``session``, following the sessions that replaced it; reads only (an
    overdue active session counts as ended, whether or not the cleanup has marked it yet)."""
    now = now or timezone.now()
    if session.status == CheckoutSession.Status.COMPLETED:
        return Follow(session, Whereabouts.COMPLETED)
    if session.status == CheckoutSession.Status.ACTIVE and session.expires_at > now:
        return Follow(session, Whereabouts.CURRENT)
    latest = checkout_session_latest_successor(session=session)
    if latest is not None:
        if latest.status == CheckoutSession.Status.ACTIVE and latest.expires_at > now:
            return Follow(latest, Whereabouts.MOVED)
        if latest.status == CheckoutSession.Status.COMPLETED:
            return Follow(latest, Whereabouts.COMPLETED)
    return Follow(latest or session, Whereabouts.ENDED)


def checkout_session_latest_successor(*, session: CheckoutSession) -> CheckoutSession | None:
    """The last session of the chain of renewals and recoveries that replaced ``session`` (None: none did). The
    chain stops at a session of another kind: a card payment that replaced a points package is not where that
    package's pages continue (they say it is open, and offer both ways on)."""
    latest, hops, kind = None, 0, session.kind
    while session.replaced_by_id is not None and hops < MAX_CHAIN:
        successor = CheckoutSession.objects.get(pk=session.replaced_by_id)
        if successor.kind != kind:
            break
        session = latest = successor
        hops += 1
    return latest


def checkout_session_for_user(*, user, session_id) -> CheckoutSession | None:
    """The shopper's own session (anyone else's is None, so pages answer 404 rather than "forbidden")."""
    return CheckoutSession.objects.filter(pk=session_id, user=user).first()


def checkout_session_active(*, user) -> CheckoutSession | None:
    return CheckoutSession.objects.filter(user=user, status=CheckoutSession.Status.ACTIVE,
                                          expires_at__gt=timezone.now()).first()


@dataclass(frozen=True)
class OpenCheckout:
    """The shopper's open checkout of another kind, and the page where it continues (None: its kind has none)."""

    session: CheckoutSession
    url: str | None


def checkout_session_open_other(*, user, kind: str) -> OpenCheckout | None:
    """The shopper's active checkout when it is for another kind of purchase than ``kind``: starting one of
    ``kind`` would end it, so pages say so first (``ReplaceNotConfirmed``)."""
    session = checkout_session_active(user=user)
    if session is None or session.kind == kind:
        return None
    return checkout_session_open(session)


def checkout_session_open(session: CheckoutSession) -> OpenCheckout:
    return OpenCheckout(session=session, url=handler_for(session.kind).shopper_url(session))


class PaymentState(StrEnum):
    """Where a session's payment stands, as the shopper's pages tell it."""

    COMPLETED = "completed"  # paid
    PROCESSING = "processing"  # Stripe has it complete, a bank debit is on its way
    PENDING = "pending"  # sent to Stripe's page, no outcome yet
    UNPAID = "unpaid"  # active, never sent to Stripe
    ENDED = "ended"  # expired or invalidated without a payment


def checkout_session_payment_state(session: CheckoutSession) -> PaymentState:
    if session.status == CheckoutSession.Status.COMPLETED:
        return PaymentState.COMPLETED
    if session.stripe_status == "complete" and session.awaiting_stripe:
        return PaymentState.PROCESSING
    if session.status != CheckoutSession.Status.ACTIVE:
        return PaymentState.ENDED
    if session.awaiting_stripe:
        return PaymentState.PENDING
    return PaymentState.UNPAID


def checkout_session_refunds(*, session: CheckoutSession) -> list[Refund]:
    """The session's refunds, newest first, with who asked for them."""
    return list(session.refunds.select_related("requested_by").order_by("-created_at"))


def refund_description(refund: Refund) -> str:
    """A refund in a few words, for staff pages."""
    state = {Refund.Status.REQUESTED: "recorded, not yet accepted by Stripe",
             Refund.Status.PENDING: "awaiting Stripe's confirmation",
             Refund.Status.SUCCEEDED: "confirmed by Stripe",
             Refund.Status.FAILED: f"failed at Stripe: {refund.failure_message.rstrip('.')}",
             Refund.Status.CANCELED: f"canceled at Stripe: {refund.failure_message.rstrip('.')}"}[refund.status]
    where = ", made in Stripe's Dashboard" if refund.made_in_stripe else ""
    verb = "Refund of" if refund.status in Refund.UNDONE else "Refunded"
    return f"{verb} {format_money(refund.amount_cents, refund.currency)} ({state}{where})."


def checkout_session_disputes(*, session: CheckoutSession) -> list[Dispute]:
    """The session's payment's disputes, newest first."""
    return list(session.disputes.order_by("-opened_at"))


def dispute_description(dispute: Dispute) -> str:
    """A dispute in a few words, for staff pages."""
    amount = format_money(dispute.amount_cents, dispute.currency)
    if dispute.outcome:
        return f"Dispute of {amount} {dispute.outcome} ({dispute.closed_at:%Y-%m-%d}): {dispute.seller_note}"
    due = f", evidence due by {dispute.evidence_due_by:%Y-%m-%d %H:%M} UTC" if dispute.evidence_due_by else ""
    return f"Dispute of {amount} open ({dispute.get_status_display().lower()}{due}): {dispute.seller_note}"


def refunds_undone(*, limit: int) -> tuple[int, list[Refund]]:
    """How many refunds failed or were canceled (money the shopper was promised and did not get), and the latest
    ``limit`` of them with their session and shopper: one query while there are fewer than ``limit``."""
    latest = list(Refund.objects.filter(status__in=Refund.UNDONE).select_related("session__user")
                  .order_by("-updated_at")[:limit])
    if len(latest) < limit:
        return len(latest), latest
    return Refund.objects.filter(status__in=Refund.UNDONE).count(), latest
