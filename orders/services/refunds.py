"""Refunds, started by staff. Points orders are refunded through the ledger at once; card orders through Stripe,
and marked refunded when Stripe's ``charge.refunded`` event confirms it (see checkout's webhook handling)."""

from django.db import transaction

from orders.errors import RefundRefused
from orders.models import Order, OrderStatus, OrderStatusChange, PaymentMethod
from orders.services.status import order_transition
from wallet.services import wallet_credit


def _checked_amount(amount, remaining: int, unit: str) -> int:
    if amount is None:
        return remaining
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        raise RefundRefused(f"The refund must be a whole number of {unit} above zero.")
    if amount > remaining:
        raise RefundRefused(f"At most {remaining} {unit} can still be refunded on this order.")
    return amount


@transaction.atomic
def order_refund_points(*, order_id, staff_user, reason: str, points: int | None = None) -> Order:
    """Give points back for a points-paid order: all that is left to refund, or ``points`` of it.

    The order row is locked, so two staff members clicking at once refund once; each partial refund has its own
    ledger key (derived from what was refunded before it), so a retried request cannot pay out twice."""
    reason = (reason or "").strip()
    if not reason:
        raise RefundRefused("Say why the order is refunded: the shopper and other staff will see it.")
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.payment_method != PaymentMethod.POINTS:
        raise RefundRefused("This order was paid by card: refund it through Stripe.")
    if order.status != OrderStatus.COMPLETED:
        raise RefundRefused(f"Only completed orders can be refunded; this one is {order.get_status_display().lower()}.")
    points = _checked_amount(points, order.total_points - order.refunded_points, "points")
    wallet_credit(user=order.user, points=points, kind="refund",
                  idempotency_key=f"order:{order.pk}:refund:{order.refunded_points}+{points}",
                  description=f"Refund of order {order.short_id}", created_by=staff_user,
                  metadata={"order_id": str(order.pk), "reason": reason})
    order.refunded_points += points
    if order.refunded_points == order.total_points:
        return order_transition(order=order, to=OrderStatus.REFUNDED, changed_by=staff_user,
                                reason=f"Refunded {points} points: {reason}", refunded_points=order.refunded_points)
    order.save(update_fields=["refunded_points", "updated_at"])
    OrderStatusChange.objects.create(order=order, from_status=order.status, to_status=order.status,
                                     changed_by=staff_user, reason=f"Partial refund of {points} points: {reason}")
    return order
