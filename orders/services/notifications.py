"""The order receipt: text and HTML, with the order, its items, what was paid and how, and download links on
``settings.SITE_URL``.

Receipts go out in batches: a payment's commit queues the Celery task ``send_due_receipts`` to run a second
later, unless one is queued already (a flag in Redis, lowered when the task starts), and the task sends every
receipt due by then over one mail connection -- the orders claimed in one statement, read in two. Under load a
second's receipts cost one task instead of one each; a lone order's receipt leaves a second later. Beat runs
the task every minute too, for a receipt whose queueing was lost (a web process dying between its commit and
the publish). A receipt is sent at most once, and only for an order completed (``fulfilled_at``) in the last
``RECEIPTS_WINDOW``: an order older than that never gets a surprise receipt."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ops.cache import shared_flag_lower, shared_flag_raise
from ops.mail import duration_words, mail_build, site_url
from orders.downloads import download_token
from orders.models import Order, OrderStatus, PaymentMethod

logger = logging.getLogger(__name__)


def order_send_confirmation(*, order_id) -> bool:
    """Email the buyer of one order their receipt (``send_order_confirmation``, a task queued one per order before
    receipts went out in batches). Sent at most once: the task may be delivered twice (acks_late), so the send is
    claimed with a conditional UPDATE first and the claim released if sending fails (the task retries)."""
    claimed = Order.objects.filter(pk=order_id, status=OrderStatus.COMPLETED, confirmation_sent_at__isnull=True) \
        .update(confirmation_sent_at=timezone.now())
    if claimed:
        _receipts_send(claimed=[order_id])
    return bool(claimed)


RECEIPTS_QUEUED = "orders:receipts-queued"
RECEIPTS_DELAY_SECONDS = 1
RECEIPTS_BATCH = 100
RECEIPTS_WINDOW = timedelta(days=2)
# The flag outlives a task lost on its way (it is lowered when the task starts): then the next payment after
# this long queues one again, and beat's run sends what was waiting.
RECEIPTS_QUEUED_SECONDS = 60


def order_queue_confirmation(*, order: Order) -> None:
    """After ``order``'s payment commits, make sure a ``send_due_receipts`` task is on its way."""
    transaction.on_commit(receipts_queue)


def receipts_queue() -> None:
    from orders.tasks import send_due_receipts

    if shared_flag_raise(RECEIPTS_QUEUED, seconds=RECEIPTS_QUEUED_SECONDS):
        send_due_receipts.apply_async(countdown=RECEIPTS_DELAY_SECONDS)


def receipts_send_due(*, batch: int = RECEIPTS_BATCH, now=None) -> int:
    """Send the receipts due, up to ``batch`` of them (the oldest orders first) over one mail connection; return
    how many were claimed. A payment committing from here on queues a task of its own: the flag is lowered first.

    The orders are claimed (``confirmation_sent_at``) and committed before anything is sent, skipping rows
    another worker has locked, so two workers never send one receipt. A receipt the mail server refuses does not
    hold back the others: every receipt not sent is released for the retry, and the error raised afterwards (the
    task retries on ``OSError``)."""
    shared_flag_lower(RECEIPTS_QUEUED)
    now = now or timezone.now()
    with transaction.atomic():
        claimed = list(Order.objects.select_for_update(skip_locked=True)
                       .filter(status=OrderStatus.COMPLETED, confirmation_sent_at__isnull=True,
                               fulfilled_at__gte=now - RECEIPTS_WINDOW)
                       .order_by("fulfilled_at").values_list("pk", flat=True)[:batch])
        if not claimed:
            return 0
        Order.objects.filter(pk__in=claimed).update(confirmation_sent_at=now)
    _receipts_send(claimed=claimed)
    return len(claimed)


def _receipts_send(*, claimed: list) -> None:
    """Send the receipts of the ``claimed`` orders over one mail connection, oldest first; release the claim of
    every one not sent and raise the (last) error then."""
    orders = list(Order.objects.filter(pk__in=claimed).select_related("user").prefetch_related("items")
                  .order_by("fulfilled_at"))
    sent, failure = [], None
    try:
        with get_connection() as connection:
            for order in orders:
                try:
                    _receipt(order, connection=connection).send()
                except Exception as error:  # this receipt waits for the retry; the others still go out
                    logger.warning("receipt_failed order=%s error=%s", order.pk, error.__class__.__name__)
                    failure = error
                else:
                    sent.append(order.pk)
    except Exception as error:  # the mail server could not be reached at all
        failure = error
    if failure is not None:
        Order.objects.filter(pk__in=claimed).exclude(pk__in=sent).update(confirmation_sent_at=None)
        raise failure


def _receipt(order: Order, *, connection):
    return mail_build(template="orders/email/receipt", subject=f"Your receipt for order {order.short_id}",
                      to=[order.user.email], context=receipt_context(order), connection=connection)


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
