""""Check again": the shopper asks the shop to ask Stripe now about a payment, instead of waiting for the webhook.

No web request waits on Stripe for it: the view queues one check for a Celery worker and answers at once; the
page shows that the check is under way and polls for its result. Checks are deduplicated per session in the
database (a conditional UPDATE, so every web process agrees whatever Redis does): while one is queued, and for
``CHECK_INTERVAL`` after Stripe last answered about the session, asking again queues nothing. A flood of POSTs
therefore makes at most one check per session per interval, each one ``checkout_session_reconcile``: one GET to
Stripe, and an expire when our session has ended (stripe-python's bounded retries on top, README: Stripe). The
views' rate limit (settings.RATE_LIMITS) bounds the requests themselves.
"""

import logging
from datetime import datetime, timedelta
from enum import StrEnum

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from checkout.gateway import PaymentProviderError
from checkout.models import CheckoutSession

logger = logging.getLogger(__name__)

CHECK_INTERVAL = timedelta(seconds=15)
# A queued check not done after this long was lost (its worker died, the broker dropped it): queue another.
CHECK_LOST_AFTER = timedelta(minutes=2)
FAILURE_LIMIT = CheckoutSession._meta.get_field("check_failure").max_length


class CheckRequest(StrEnum):
    QUEUED = "queued"  # a check was queued now
    ALREADY_QUEUED = "already queued"  # the one queued earlier is still to come
    JUST_CHECKED = "just checked"  # Stripe answered about it moments ago: its answer is on the page
    NOTHING_TO_ASK = "nothing to ask"  # no Stripe session yet, or the payment is settled


def checkout_session_check_request(*, session: CheckoutSession, now: datetime | None = None) -> CheckRequest:
    """Queue a check with Stripe for ``session`` unless one is queued or was just made (see the module)."""
    now = now or timezone.now()
    if not session.stripe_session_id or (session.status == CheckoutSession.Status.COMPLETED
                                         and not session.awaiting_stripe):
        return CheckRequest.NOTHING_TO_ASK
    due = (CheckoutSession.objects.filter(pk=session.pk)
           .filter(Q(check_queued_at__isnull=True) | Q(check_queued_at__lt=now - CHECK_LOST_AFTER))
           .filter(Q(reconciled_at__isnull=True) | Q(reconciled_at__lt=now - CHECK_INTERVAL)))
    if not due.update(check_queued_at=now, check_failure=""):
        queued = CheckoutSession.objects.filter(pk=session.pk, check_queued_at__isnull=False).exists()
        return CheckRequest.ALREADY_QUEUED if queued else CheckRequest.JUST_CHECKED
    from checkout.tasks import check_with_stripe

    session_id = str(session.pk)
    transaction.on_commit(lambda: check_with_stripe.delay(session_id))
    logger.info("Queued a check with Stripe for checkout session %s", session.pk)
    return CheckRequest.QUEUED


def checkout_session_check_run(*, session_id, now: datetime | None = None) -> str:
    """The queued check (a Celery task): reconcile the session with Stripe and record that it is done, with the
    shopper's message when Stripe could not be asked. A duplicate delivery of the task after the check finished
    finds nothing queued and asks Stripe nothing."""
    from checkout.services.fulfilment import checkout_session_reconcile

    now = now or timezone.now()
    session = CheckoutSession.objects.filter(pk=session_id, check_queued_at__isnull=False).first()
    if session is None:
        return "nothing queued"
    failure = ""
    try:
        result = checkout_session_reconcile(session=session, now=now).value
    except PaymentProviderError as error:
        failure, result = error.user_message[:FAILURE_LIMIT], "stripe error"
    # reconciled_at also on failure: the interval between checks holds while Stripe is failing too.
    CheckoutSession.objects.filter(pk=session.pk).update(check_queued_at=None, check_failure=failure,
                                                         reconciled_at=now)
    return result
