"""The order receipt: text and HTML, with the order, its items, what was paid and how, and download links on
``settings.SITE_URL``. Sent by the Celery task ``send_order_confirmation``, queued when the payment commits."""

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from ops.mail import duration_words, mail_send, site_url
from orders.downloads import download_token
from orders.models import Order, OrderStatus, PaymentMethod


def order_send_confirmation(*, order_id) -> bool:
    """Email the buyer their receipt. Sent at most once: the task may be delivered twice (acks_late), so the send
    is claimed with a conditional UPDATE first and the claim released if sending fails (the task retries)."""
    claimed = Order.objects.filter(pk=order_id, status=OrderStatus.COMPLETED, confirmation_sent_at__isnull=True) \
        .update(confirmation_sent_at=timezone.now())
    if not claimed:
        return False
    order = Order.objects.select_related("user").prefetch_related("items").get(pk=order_id)
    try:
        mail_send(template="orders/email/receipt", subject=f"Your receipt for order {order.short_id}",
                  to=[order.user.email], context=receipt_context(order))
    except Exception:
        Order.objects.filter(pk=order_id).update(confirmation_sent_at=None)
        raise
    return True


def receipt_context(order: Order) -> dict:
    by_points = order.payment_method == PaymentMethod.POINTS
    lines = [{"item": item, "amount": item.line_points if by_points else item.line_cents,
              "download_url": site_url(reverse("orders:download",
                                               args=[download_token(item=item, user_id=order.user_id)]))}
             for item in order.items.all()]
    return {
        "order": order, "lines": lines, "by_points": by_points,
        "total": order.total_points if by_points else order.total_cents,
        "payment_method": "Points from your wallet" if by_points else "Card, through Stripe",
        "paid_at": order.fulfilled_at or order.created_at,
        "order_url": site_url(reverse("orders:detail", args=[order.pk])),
        "links_valid_for": duration_words(int(settings.DOWNLOAD_LINK_TTL.total_seconds())),
    }
