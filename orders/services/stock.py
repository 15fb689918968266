"""Limited stock. ``Product.stock`` is what can still be sold: taking copies for an order or a checkout
reservation is one conditional UPDATE per product (``stock >= wanted``), so concurrent buyers can never take more
than exists, whatever the isolation level. Products are updated in id order so two buyers never deadlock."""

from django.db.models import F

from orders.errors import NotEnoughStock
from shop.models import Product


def stock_take(*, quantities: dict[int, int]) -> None:
    """Take copies of limited products ({product_id: quantity}); raise NotEnoughStock (and let the caller's
    transaction roll back what was taken) when one product has too few."""
    for product_id in sorted(quantities):
        wanted = quantities[product_id]
        taken = Product.objects.filter(pk=product_id, stock__isnull=False, stock__gte=wanted).update(
            stock=F("stock") - wanted)
        if taken:
            continue
        product = Product.objects.filter(pk=product_id).values("title", "stock").first()
        if product is not None and product["stock"] is not None:
            left = product["stock"]
            raise NotEnoughStock(f"“{product['title']}” is sold out." if left == 0 else
                                 f"Only {left} of “{product['title']}” left; your order needs {wanted}.")


def stock_return(*, quantities: dict[int, int]) -> None:
    """Give back copies taken by ``stock_take`` (a reservation released, a refund)."""
    for product_id in sorted(quantities):
        Product.objects.filter(pk=product_id, stock__isnull=False).update(stock=F("stock") + quantities[product_id])
