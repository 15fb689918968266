from enum import StrEnum

from django.utils import timezone

from checkout.models import CheckoutSession


def checkout_session_for_user(*, user, session_id) -> CheckoutSession | None:
    """The shopper's own session (anyone else's is None, so pages answer 404 rather than "forbidden")."""
    return CheckoutSession.objects.filter(pk=session_id, user=user).first()


def checkout_session_active(*, user) -> CheckoutSession | None:
    return CheckoutSession.objects.filter(user=user, status=CheckoutSession.Status.ACTIVE,
                                          expires_at__gt=timezone.now()).first()


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
