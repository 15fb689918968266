"""Order status changes: allowed or refused here, in one table, and always recorded."""

from orders.errors import IllegalTransition
from orders.models import Order, OrderStatus, OrderStatusChange

S = OrderStatus
LEGAL_MOVES: dict[str, set[str]] = {
    S.PENDING: {S.PROCESSING, S.COMPLETED, S.FAILED, S.CANCELLED},
    S.PROCESSING: {S.COMPLETED, S.FAILED, S.CANCELLED},
    S.COMPLETED: {S.REFUNDED},
    # A card payment Stripe accepted just before we gave up on its checkout is honoured (completed), or refunded
    # when its copies were sold meanwhile: money that arrived is never ignored.
    S.FAILED: {S.COMPLETED, S.REFUNDED},
    S.CANCELLED: {S.COMPLETED, S.REFUNDED},
    S.REFUNDED: set(),
}


def order_record_creation(*, order: Order, reason: str) -> None:
    OrderStatusChange.objects.create(order=order, from_status="", to_status=order.status, reason=reason)


def order_transition(*, order: Order, to: str, reason: str, changed_by=None, **fields) -> Order:
    """Move ``order`` (locked by the caller with select_for_update) to ``to`` and record why.

    Extra ``fields`` (e.g. ``fulfilled_at``) are saved in the same UPDATE."""
    if to not in LEGAL_MOVES[order.status]:
        raise IllegalTransition(f"Order {order.short_id} cannot go from {order.get_status_display().lower()} "
                                f"to {S(to).label.lower()}.")
    from_status = order.status
    order.status = to
    for name, value in fields.items():
        setattr(order, name, value)
    order.save(update_fields=["status", "updated_at", *fields])
    OrderStatusChange.objects.create(order=order, from_status=from_status, to_status=to, reason=reason,
                                     changed_by=changed_by)
    return order
