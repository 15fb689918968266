"""Disputes of card orders' payments, as checkout reports them (``orders.checkout_kind``), inside checkout's
transaction with the order's session locked.

A dispute is not a step of the order's own life (paid, refunded...): the order keeps its status, and its
``dispute_status`` follows ``Order.DISPUTE_TRANSITIONS`` with a line in the order's history each time. While a
dispute is open the downloads are suspended (``orders.downloads``); won, they are back; lost, they stay off.
"""

import logging
from datetime import datetime

from checkout.models import CheckoutSession
from orders.models import DisputeStatus, Order, OrderStatusChange
from orders.services.library import library_sync_order
from shop.templatetags.shop_tags import money

logger = logging.getLogger(__name__)

HISTORY_LIMIT = OrderStatusChange._meta.get_field("reason").max_length


def order_dispute_open(*, checkout_session: CheckoutSession, dispute, now: datetime) -> str:
    """Mark the session's order disputed and suspend its downloads. Returns a few words for staff."""
    order = Order.objects.select_for_update().filter(checkout_session=checkout_session).first()
    if order is None:
        logger.error("Stripe dispute %s is about cart checkout %s, which has no order", dispute.stripe_dispute_id,
                     checkout_session.pk)
        return "no order to suspend"
    if not Order.DISPUTE_TRANSITIONS.allows(order.dispute_status, DisputeStatus.OPEN):
        return f"order {order.short_id} already {order.get_dispute_status_display().lower()}"
    _move(order, DisputeStatus.OPEN, reason=(
        f"The cardholder disputes the payment ({money(dispute.amount_cents, dispute.currency)}, "
        f"{dispute.reason or 'no reason given'}; Stripe {dispute.stripe_dispute_id}): downloads suspended."))
    return f"order {order.short_id} disputed: downloads suspended"


def order_dispute_close(*, checkout_session: CheckoutSession, dispute, won: bool, now: datetime) -> str:
    """Stripe decided: won, the downloads are back; lost, the order stays without them, for good."""
    order = Order.objects.select_for_update().filter(checkout_session=checkout_session).first()
    if order is None:
        return "no order"
    target = DisputeStatus.WON if won else DisputeStatus.LOST
    if not Order.DISPUTE_TRANSITIONS.allows(order.dispute_status, target):
        logger.warning("Stripe dispute %s closed %s, but order %s is %s", dispute.stripe_dispute_id, target,
                       order.pk, order.dispute_status or "not disputed")
        return f"order {order.short_id} left {order.get_dispute_status_display().lower()}"
    if won:
        _move(order, target, reason=f"The dispute was won (Stripe {dispute.stripe_dispute_id}): downloads restored.")
        return f"order {order.short_id}: dispute won, downloads restored"
    _move(order, target, reason=(f"The dispute was lost (Stripe {dispute.stripe_dispute_id}): "
                                 f"{money(dispute.amount_cents, dispute.currency)} went back to the cardholder; the "
                                 f"downloads stay off."))
    return f"order {order.short_id}: dispute lost, downloads stay off"


def _move(order: Order, target: str, *, reason: str) -> None:
    """``order`` is locked by the caller."""
    Order.DISPUTE_TRANSITIONS.check(order.dispute_status, target, what=f"order {order.short_id}'s dispute")
    order.dispute_status = target
    order.save(update_fields=["dispute_status", "updated_at"])
    OrderStatusChange.objects.create(order=order, from_status=order.status, to_status=order.status,
                                     reason=reason[:HISTORY_LIMIT])
    if target == DisputeStatus.LOST:
        library_sync_order(order=order)  # the money went back: the product is no longer the shopper's
