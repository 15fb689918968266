import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import BooleanField, Exists, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from ops.keyset import KeysetPage, PreparedNewestFirst, newest_first_page
from ops.pagination import PageWithoutCount, page_number
from ops.prepared import PreparedQuery
from shop.selectors import catalog_products, product_for_page

from orders.cart_seen import CartSeen
from orders.downloads import download_token
from orders.models import ABANDONED_STATUSES, KEPT_STATUSES, CartItem, LibraryEntry, Order, OrderItem, OrderPayment


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
    if item.owned:
        return f"You already own “{product.title}”: it is in your downloads. Remove it from your cart."
    if not product.is_active:
        return f"“{product.title}” is no longer for sale."
    if product.stock == 0:
        return f"“{product.title}” is sold out."
    return ""


def _cart_items(*, user_id) -> QuerySet[CartItem]:
    owned = Exists(LibraryEntry.objects.filter(user_id=user_id, product_id=OuterRef("product_id")))
    return (CartItem.objects.filter(user_id=user_id).select_related("product").annotate(owned=owned)
            .order_by("added_at", "id"))


# Read by the cart page, its every refresh and each payment's check: prepared per process.
_CART_ITEMS = PreparedQuery(_cart_items, user_id=int)


def cart_summary(*, user) -> CartSummary:
    """The cart with totals computed on the server from current prices, each line marked when the shopper owns
    its product already (bought meanwhile in another tab): one query."""
    items = _CART_ITEMS.rows(user_id=user.pk)
    lines = [CartLine(item=item, line_cents=item.product.price_cents, line_points=item.product.price_points,
                      problem=_line_problem(item))
             for item in items]
    return CartSummary(
        lines=lines,
        count=len(items),
        total_cents=sum(line.line_cents for line in lines),
        total_points=sum(line.line_points for line in lines),
        currency=items[0].product.currency if items else settings.SHOP_CURRENCY,
    )


def cart_count(*, user) -> int:
    return CartItem.objects.filter(user=user).count()


ORDERS_PAGE_SIZE = 20


def orders_for_shopper(*, user, cursor: str | None = None, page_size: int = ORDERS_PAGE_SIZE,
                       abandoned: bool = False) -> KeysetPage:
    """A page of the shopper's orders, newest first, in one query whatever their number: what was bought (paid,
    refunded, disputed, still being paid) or, with ``abandoned``, the attempts that ended unpaid (cancelled,
    failed). Each reads in order from its partial (user, -created_at, -id) index with keyset pagination (no
    COUNT), each row's item count from a subquery run for the page's rows only -- never a GROUP BY over every
    order of the shopper."""
    return _ORDERS_PAGES.page(bool(abandoned), cursor=cursor, page_size=page_size, user_id=user.pk)


def _shoppers_orders(abandoned: bool, *, user_id) -> QuerySet[Order]:
    item_count = Subquery(OrderItem.objects.filter(order=OuterRef("pk")).order_by().values("order")
                          .annotate(total=Sum("quantity")).values("total"), output_field=IntegerField())
    statuses = ABANDONED_STATUSES if abandoned else KEPT_STATUSES
    return Order.objects.filter(user_id=user_id, status__in=statuses).annotate(item_count=item_count)


_ORDERS_PAGES = PreparedNewestFirst(_shoppers_orders, id_type=uuid.UUID, user_id=int)


def order_for_shopper(*, user, order_id) -> Order | None:
    """The shopper's own order with its items, or None (another shopper's order is simply not found)."""
    return (Order.objects.filter(user=user, pk=order_id).select_related("checkout_session")
            .prefetch_related("items").first())


def with_ownership(products: QuerySet, *, user) -> QuerySet:
    """``products`` with ``owned``: whether the signed-in shopper owns each one (False for everyone signed out),
    read in the same query. A scalar subquery with LIMIT 1 is probed per product the page shows, through the
    library's (user, product) index; an EXISTS here let PostgreSQL hash the shopper's whole library instead."""
    return owned_by(products, user.pk if getattr(user, "is_authenticated", False) else None)


def owned_by(products: QuerySet, user_id: int | None) -> QuerySet:
    """``with_ownership`` by the shopper's id (None: signed out), for queries built with a placeholder id."""
    if user_id is None:
        return products.annotate(owned=Value(False, output_field=BooleanField()))
    entry = LibraryEntry.objects.filter(user_id=user_id, product_id=OuterRef("pk")).order_by()
    return products.annotate(owned=Coalesce(Subquery(entry.values(flag=Value(True))[:1]), Value(False),
                                            output_field=BooleanField()))


# What a catalog card shows (templates/shop/catalog.html's grid): the rest of a product -- its description above
# all -- is not read for the catalog.
CATALOG_CARD_FIELDS = ("id", "title", "slug", "preview", "price_cents", "price_points", "currency", "stock")
# The first pages are what shoppers read: their SQL is prepared per process; deeper pages are built each time.
CATALOG_PREPARED_PAGES = 5


def _catalog_slice(start: int, stop: int, user_id: int | None = None) -> QuerySet:
    return owned_by(catalog_products().only(*CATALOG_CARD_FIELDS), user_id)[start:stop]


_CATALOG_SIGNED_IN = PreparedQuery(_catalog_slice, user_id=int)
_CATALOG_SIGNED_OUT = PreparedQuery(_catalog_slice)


def catalog_page(*, user, number, page_size: int) -> PageWithoutCount:
    """Page ``number`` of the catalog (anything that is not a positive integer is page 1), each product with
    whether ``user`` owns it: one query, no COUNT (the page and one more row say whether more follow)."""
    number = page_number(number)
    start, stop = (number - 1) * page_size, number * page_size + 1
    user_id = user.pk if getattr(user, "is_authenticated", False) else None
    if number > CATALOG_PREPARED_PAGES:
        rows = list(_catalog_slice(start, stop, user_id))
    elif user_id is None:
        rows = _CATALOG_SIGNED_OUT.rows(start, stop)
    else:
        rows = _CATALOG_SIGNED_IN.rows(start, stop, user_id=user_id)
    return PageWithoutCount(rows=rows[:page_size], number=number, has_next=len(rows) > page_size)


def _product_by_slug(*, slug: str, user_id: int | None = None) -> QuerySet:
    return owned_by(product_for_page(slug=slug), user_id)[:1]


_PRODUCT_SIGNED_IN = PreparedQuery(_product_by_slug, slug=str, user_id=int)
_PRODUCT_SIGNED_OUT = PreparedQuery(_product_by_slug, slug=str)


def product_with_ownership(*, slug: str, user):
    """The active product ``slug`` names with ``owned`` (as ``with_ownership``), or None: one prepared query."""
    if getattr(user, "is_authenticated", False):
        found = _PRODUCT_SIGNED_IN.rows(slug=slug, user_id=user.pk)
    else:
        found = _PRODUCT_SIGNED_OUT.rows(slug=slug)
    return found[0] if found else None


LIBRARY_PAGE_SIZE = 20


@dataclass(frozen=True)
class LibraryRow:
    entry: LibraryEntry
    token: str  # a fresh signed download link's token; empty while the order's downloads are suspended

    @property
    def suspended(self) -> bool:
        return not self.token


def library_for_shopper(*, user, cursor: str | None = None, page_size: int = LIBRARY_PAGE_SIZE) -> KeysetPage:
    """A page of the products the shopper owns, newest purchase first, each with a fresh signed download link:
    one query whatever the library's size (the (user, -created_at, -id) index, keyset pagination, the product
    and the delivering order joined)."""
    entries = LibraryEntry.objects.filter(user=user).select_related("product", "order_item__order")
    page = newest_first_page(entries, cursor=cursor, page_size=page_size)
    rows = [LibraryRow(entry=entry, token="" if entry.order_item.order.downloads_suspended
                       else download_token(item=entry.order_item, user_id=user.pk))
            for entry in page.rows]
    return KeysetPage(rows=rows, next_cursor=page.next_cursor)


def library_entry_for_product(*, user, product_id) -> LibraryRow | None:
    """The shopper's library row of one product with a fresh link, or None when they do not own it."""
    if not getattr(user, "is_authenticated", False):
        return None
    entry = (LibraryEntry.objects.filter(user=user, product_id=product_id)
             .select_related("order_item__order").first())
    if entry is None:
        return None
    return LibraryRow(entry=entry, token="" if entry.order_item.order.downloads_suspended
                      else download_token(item=entry.order_item, user_id=user.pk))


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
