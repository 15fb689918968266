"""The shopper's library (``LibraryEntry``): one row per product owned, kept in step with the orders that deliver
them. Called inside the transaction that changes an order's status or dispute status, with the order locked."""

from django.db import connection

from orders.models import DisputeStatus, LibraryEntry, Order, OrderItem, OrderStatus


def order_delivers(order: Order) -> bool:
    """The order hands its products to the shopper: paid, not refunded, and its payment not taken back by a lost
    dispute (an open dispute only suspends the downloads: the product is still the shopper's)."""
    return order.status == OrderStatus.COMPLETED and order.dispute_status != DisputeStatus.LOST


def library_sync_order(*, order: Order) -> None:
    """Make the library agree with ``order``'s state. A completed order adds its products (one already owned
    through another order keeps that entry); an order that stops delivering (refunded, dispute lost) takes its
    entries out, and a product the shopper still owns through another order points at that order instead."""
    if order_delivers(order):
        _library_add(order)
        return
    items = list(OrderItem.objects.filter(order=order).only("id", "product_id"))
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


def _library_add(order: Order) -> None:
    """One entry per item of ``order``, in one statement (the items are not read into Python first); a product
    owned already keeps its entry."""
    entry, item = LibraryEntry._meta, OrderItem._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(entry.get_field(name).column) for name in ("user", "product", "order_item", "created_at"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(entry.db_table)} ({columns}) "
            f"SELECT %s, {quote(item.get_field('product').column)}, {quote(item.pk.column)}, %s "
            f"FROM {quote(item.db_table)} WHERE {quote(item.get_field('order').column)} = %s ON CONFLICT DO NOTHING",
            [order.user_id, entry.get_field("created_at").get_db_prep_value(order.created_at, connection),
             item.get_field("order").get_db_prep_value(order.pk, connection)])
