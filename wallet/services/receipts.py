"""The receipt of a points package bought by card: what was bought, the points, the amount paid and how. Sent by
the Celery task ``send_points_purchase_receipt``, queued when the payment is credited (``PointsPackageKind``)."""

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from checkout.models import CheckoutSession
from ops.mail import mail_send, site_url
from wallet.models import PointsPurchase


def points_purchase_queue_receipt(*, session_id) -> None:
    from wallet.tasks import send_points_purchase_receipt

    session_id = str(session_id)
    transaction.on_commit(lambda: send_points_purchase_receipt.delay(session_id))


def points_purchase_send_receipt(*, session_id) -> bool:
    """Email the buyer the receipt of a paid package, at most once: the send is claimed with a conditional UPDATE
    and the claim released if sending fails (the task retries)."""
    claimed = PointsPurchase.objects.filter(
        checkout_session_id=session_id, receipt_sent_at__isnull=True,
        checkout_session__status=CheckoutSession.Status.COMPLETED).update(receipt_sent_at=timezone.now())
    if not claimed:
        return False
    purchase = PointsPurchase.objects.select_related("checkout_session__user").get(checkout_session_id=session_id)
    session = purchase.checkout_session
    try:
        mail_send(template="wallet/email/receipt", subject=f"Your receipt for {purchase.points:,} points",
                  to=[session.user.email],
                  context={"purchase": purchase, "session": session, "reference": str(session.pk)[:8].upper(),
                           "paid_at": session.completed_at or session.updated_at,
                           "payment_method": "Card, through Stripe",
                           "wallet_url": site_url(reverse("wallet:home")),
                           "catalog_url": site_url(reverse("shop:catalog"))})
    except Exception:
        PointsPurchase.objects.filter(checkout_session_id=session_id).update(receipt_sent_at=None)
        raise
    return True
