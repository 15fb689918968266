"""The shopper's library (``LibraryEntry``): one row per product owned, kept in step with the orders that deliver
them. Called inside the transaction that changes an order's status or dispute status, with the order locked."""

from orders.models import DisputeStatus, LibraryEntry, Order, OrderItem, OrderStatus


def order_delivers(order: Order) -> bool:
    """The order hands its products to the shopper: paid, not refunded, and its payment not taken back by a lost
    dispute (an open dispute only suspends the downloads: the product is still the shopper's)."""
    return order.status == OrderStatus.COMPLETED and order.dispute_status != DisputeStatus.LOST


def library_sync_order(*, order: Order) -> None:
    """Make the library agree with ``order``'s state. A completed order adds its products (one already owned
    through another order keeps that entry); an order that stops delivering (refunded, dispute lost) takes its
    entries out, and a product the shopper still owns through another order points at that order instead."""
    items = list(OrderItem.objects.filter(order=order).only("id", "product_id"))
    if order_delivers(order):
        LibraryEntry.objects.bulk_create(
            [LibraryEntry(user_id=order.user_id, product_id=item.product_id, order_item_id=item.pk,
                          created_at=order.created_at) for item in items],
            ignore_conflicts=True)
        return
    removed = LibraryEntry.objects.filter(order_item__order=order).delete()[0]
    if not removed:
        return
    product_ids = {item.product_id for item in items}
    elsewhere = (OrderItem.objects.filter(order__user_id=order.user_id, order__status=OrderStatus.COMPLETED,
                                          product_id__in=product_ids)
                 .exclude(order__dispute_status=DisputeStatus.LOST).exclude(order=order)
                 .order_by("-order__created_at", "-id").values_list("id", "product_id", "order__created_at"))
    replacements = {}
    for item_id, product_id, created_at in elsewhere:
        replacements.setdefault(product_id, LibraryEntry(user_id=order.user_id, product_id=product_id,
                                                         order_item_id=item_id, created_at=created_at))
    LibraryEntry.objects.bulk_create(list(replacements.values()), ignore_conflicts=True)
