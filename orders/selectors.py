from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Exists, IntegerField, OuterRef, Subquery, Sum

from ops.keyset import KeysetPage, newest_first_page

from orders.cart_seen import CartSeen
from orders.models import CartItem, Order, OrderItem, OrderPayment


@dataclass(frozen=True)
class CartLine:
    item: CartItem
    line_cents: int
    line_points: int
    problem: str = ""


@dataclass(frozen=True)
class CartSummary:
    lines: list[CartLine] = field(default_factory=list)
    count: int = 0
    total_cents: int = 0
    total_points: int = 0
    currency: str = settings.SHOP_CURRENCY

    @property
    def is_empty(self) -> bool:
        return not self.lines

    @property
    def problems(self) -> list[str]:
        return [line.problem for line in self.lines if line.problem]


def _line_problem(item: CartItem) -> str:
    product = item.product
    if not product.is_active:
        return f"“{product.title}” is no longer for sale."
    if product.stock is not None and item.quantity > product.stock:
        return f"Only {product.stock} of “{product.title}” left." if product.stock else f"“{product.title}” is sold out."
    return ""


def cart_summary(*, user) -> CartSummary:
    """The cart with totals computed on the server from current prices (one query)."""
    items = list(CartItem.objects.filter(user=user).select_related("product").order_by("added_at", "id"))
    lines = [CartLine(item=item, line_cents=item.quantity * item.product.price_cents,
                      line_points=item.quantity * item.product.price_points, problem=_line_problem(item))
             for item in items]
    return CartSummary(
        lines=lines,
        count=sum(item.quantity for item in items),
        total_cents=sum(line.line_cents for line in lines),
        total_points=sum(line.line_points for line in lines),
        currency=items[0].product.currency if items else settings.SHOP_CURRENCY,
    )


def cart_count(*, user) -> int:
    return CartItem.objects.filter(user=user).aggregate(total=Sum("quantity"))["total"] or 0


ORDERS_PAGE_SIZE = 20


def orders_for_shopper(*, user, cursor: str | None = None, page_size: int = ORDERS_PAGE_SIZE) -> KeysetPage:
    """A page of the shopper's orders, newest first, in one query whatever their number: read in order from the
    (user, -created_at, -id) index with keyset pagination (no COUNT), each row's item count from a subquery run
    for the page's rows only -- never a GROUP BY over every order of the shopper."""
    item_count = Subquery(OrderItem.objects.filter(order=OuterRef("pk")).order_by().values("order")
                          .annotate(total=Sum("quantity")).values("total"), output_field=IntegerField())
    orders = Order.objects.filter(user=user).annotate(item_count=item_count)
    return newest_first_page(orders, cursor=cursor, page_size=page_size)


def order_for_shopper(*, user, order_id) -> Order | None:
    """The shopper's own order with its items, or None (another shopper's order is simply not found)."""
    return (Order.objects.filter(user=user, pk=order_id).select_related("checkout_session")
            .prefetch_related("items").first())


def order_paid_for_seen(*, user, seen: CartSeen) -> Order | None:
    """The shopper's newest order paid (with points or by card) since a page showed the cart ``seen``, for some of
    what it showed: that cart was paid meanwhile, in another tab or on Stripe's page. One query."""
    if not seen.lines:
        return None
    paid = OrderPayment.objects.filter(order=OuterRef("pk"), created_at__gte=seen.paid_after)
    bought = OrderItem.objects.filter(order=OuterRef("pk"), product_id__in=seen.product_ids)
    return Order.objects.filter(user=user).filter(Exists(paid), Exists(bought)).order_by("-created_at").first()


def order_paid_for_shopper(*, user, order_id) -> Order | None:
    """The shopper's order when it was paid (a page keeps saying so while it shows the cart)."""
    if order_id is None:
        return None
    return Order.objects.filter(user=user, pk=order_id, payments__isnull=False).first()
