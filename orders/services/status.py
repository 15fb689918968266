"""Order status changes: allowed or refused by ``Order.TRANSITIONS``, and always recorded."""

from orders.models import Order, OrderStatus, OrderStatusChange
from orders.services.library import library_sync_order
from ops.state_machine import IllegalTransition


def order_record_creation(*, order: Order, reason: str, paid_reason: str = "") -> None:
    """The new ``order``'s first history entry. ``paid_reason``: the order was placed and paid in one transaction
    (with points) and is created completed; its history shows both steps all the same, written in one statement."""
    if not paid_reason:
        OrderStatusChange.objects.create(order=order, from_status="", to_status=order.status, reason=reason)
        return
    if not Order.TRANSITIONS.allows(OrderStatus.PENDING, order.status):
        raise IllegalTransition(f"An order cannot be created {OrderStatus(order.status).label.lower()}.")
    OrderStatusChange.objects.bulk_create([
        OrderStatusChange(order=order, from_status="", to_status=OrderStatus.PENDING, reason=reason),
        OrderStatusChange(order=order, from_status=OrderStatus.PENDING, to_status=order.status, reason=paid_reason),
    ])


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
