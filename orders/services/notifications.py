from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from orders.models import Order, OrderStatus


def order_send_confirmation(*, order_id) -> bool:
    """Email the buyer that their order is ready. Sent at most once: the task may be delivered twice (acks_late),
    so the send is claimed with a conditional UPDATE first and the claim released if sending fails."""
    claimed = Order.objects.filter(pk=order_id, status=OrderStatus.COMPLETED, confirmation_sent_at__isnull=True) \
        .update(confirmation_sent_at=timezone.now())
    if not claimed:
        return False
    order = Order.objects.select_related("user").prefetch_related("items").get(pk=order_id)
    context = {"order": order, "order_url": settings.SITE_URL + reverse("orders:detail", args=[order.pk])}
    try:
        send_mail(subject=f"Your order {order.short_id} is ready to download",
                  message=render_to_string("orders/email/confirmation.txt", context),
                  from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[order.user.email])
    except Exception:
        Order.objects.filter(pk=order_id).update(confirmation_sent_at=None)
        raise
    return True
