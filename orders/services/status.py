"""Order status changes: allowed or refused by ``Order.TRANSITIONS``, and always recorded."""

from orders.models import Order, OrderStatus, OrderStatusChange
from orders.services.library import library_sync_order
from ops.state_machine import IllegalTransition


def order_record_creation(*, order: Order, reason: str) -> None:
    OrderStatusChange.objects.create(order=order, from_status="", to_status=order.status, reason=reason)


def order_transition(*, order: Order, to: str, reason: str, changed_by=None, **fields) -> Order:
    """Move ``order`` (locked by the caller with select_for_update) to ``to`` and record why.

    Extra ``fields`` (e.g. ``fulfilled_at``) are saved in the same UPDATE. The shopper's library follows: a
    completed order adds its products, one leaving ``completed`` takes them out."""
    if not Order.TRANSITIONS.allows(order.status, to):
        raise IllegalTransition(f"Order {order.short_id} cannot go from {order.get_status_display().lower()} "
                                f"to {OrderStatus(to).label.lower()}.")
    from_status = order.status
    order.status = to
    for name, value in fields.items():
        setattr(order, name, value)
    order.save(update_fields=["status", "updated_at", *fields])
    OrderStatusChange.objects.create(order=order, from_status=from_status, to_status=to, reason=reason,
                                     changed_by=changed_by)
    if OrderStatus.COMPLETED in (from_status, to):
        library_sync_order(order=order)
    return order
