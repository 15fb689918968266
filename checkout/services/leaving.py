"""The shopper leaves Stripe's payment page through its cancel link."""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from checkout import gateway
from checkout.gateway import PaymentProviderError
from checkout.models import CheckoutSession
from checkout.services.fulfilment import checkout_session_sync
from checkout.services.sessions import checkout_session_cancel

logger = logging.getLogger(__name__)

Status = CheckoutSession.Status
LEFT_NOTE = "the shopper left Stripe's payment page"


def checkout_session_leave(*, session_id, user, now: datetime | None = None) -> CheckoutSession:
    """End the shopper's session at once when they cancel on Stripe's page, instead of holding what it reserved
    until it expires. Returns the session as it is afterwards.

    Stripe is asked first, with no lock held: its session is expired (so it can no longer be paid), and the
    answer says whether a payment came in meanwhile -- then that payment is applied (the session completes, its
    kind fulfils it) and nothing is cancelled. Otherwise the session is invalidated through
    ``checkout_session_cancel`` (its kind releases what it held) and Stripe's answer is mirrored, in one
    transaction. When Stripe cannot be reached the session is invalidated all the same; its Stripe page is
    expired after commit or by reconcile, and a payment that slips through is honoured like any late one.

    Safe to repeat and to call after the payment: anything but an active session is returned as it is, and so is
    one whose Stripe session is complete (a bank debit under way is not the shopper's to cancel here). Raises
    ``CheckoutSession.DoesNotExist`` for a session that is not the shopper's."""
    now = now or timezone.now()
    session = CheckoutSession.objects.get(pk=session_id, user=user)
    if session.status != Status.ACTIVE or session.stripe_status == "complete":
        return session
    answer = None
    if session.stripe_session_id:
        try:
            answer = gateway.checkout_session_expire(stripe_session_id=session.stripe_session_id)
        except PaymentProviderError as error:
            logger.warning("Could not expire Stripe session %s of checkout session %s the shopper left: %s",
                           session.stripe_session_id, session.pk, error.provider_message or error.user_message)
    if answer is not None and (answer.status == "complete" or answer.payment_status == "paid"):
        checkout_session_sync(stripe_session=answer, now=now)
        return CheckoutSession.objects.get(pk=session.pk)
    with transaction.atomic():
        checkout_session_cancel(session_id=session.pk, user=user, now=now, note=LEFT_NOTE)
        if answer is not None:
            checkout_session_sync(stripe_session=answer, now=now)
    return CheckoutSession.objects.get(pk=session.pk)
