"""Cart writes. A digital good is bought once: a cart row is one copy, a product is in the cart at most once
(the database's ``cart_one_row_per_product``), and a product the shopper owns is never added. Every refusal
raises a CartError with a message for the shopper and leaves the cart unchanged."""

from django.db import IntegrityError
from django.db.models import Q

from ops.db import atomic_unless_autocommit
from ops.prepared import PreparedQuery
from orders.errors import AlreadyInCart, AlreadyOwned, CurrencyMismatch, NotEnoughStock, ProductUnavailable
from orders.models import CartItem, LibraryEntry, Order, OrderItem
from orders.selectors import owned_by
from shop.models import Product


def _buyable_product(product_id, *, user) -> Product:
    """The product, with ``owned``: whether ``user`` owns it already (one query)."""
    found = _PRODUCT_OWNED.rows(product_id=product_id, user_id=user.pk)
    if not found or not found[0].is_active:
        raise ProductUnavailable("This product is no longer for sale.")
    return found[0]


def _product_owned(*, product_id: int, user_id: int):
    return owned_by(Product.objects.filter(pk=product_id), user_id).order_by()[:1]


def _clashing_lines(*, user_id: int, product_id: int, currency: str):
    """The shopper's cart lines that refuse ``product_id``: itself (in the cart already), or priced in another
    currency than ``currency``. Two at most: either is enough to say why."""
    return (CartItem.objects.filter(user_id=user_id).filter(Q(product_id=product_id) | ~Q(product__currency=currency))
            .select_related("product").only("product_id", "product__currency").order_by()[:2])


# Every add to the cart runs these: built once per process, run prepared.
_PRODUCT_OWNED = PreparedQuery(_product_owned, product_id=int, user_id=int)
_CLASHING_LINES = PreparedQuery(_clashing_lines, user_id=int, product_id=int, currency=str)


def check_not_owned(*, user, products) -> None:
    """Raise AlreadyOwned naming the first of ``products`` the shopper owns already."""
    by_id = {product.pk: product for product in products}
    owned = (LibraryEntry.objects.filter(user=user, product_id__in=by_id).order_by("product_id")
             .values_list("product_id", flat=True).first())
    if owned is not None:
        raise already_owned(by_id[owned])


def already_owned(product: Product) -> AlreadyOwned:
    return AlreadyOwned(f"You already own “{product.title}”: it is in your downloads.")


def cart_add(*, user, product_id: int) -> CartItem:
    """Add one copy of a product. Stock is checked, not reserved: reservation happens when a checkout starts, so
    an idle cart never keeps items from other shoppers. Refused when the product is in the cart already (a
    double click racing itself lands on the database's unique row and is refused the same way) or owned."""
    product = _buyable_product(product_id, user=user)
    if product.owned:
        raise already_owned(product)
    # One look at the cart for both refusals: this product in it already, or a line priced in another currency.
    clashes = {line.product_id: line.product.currency for line in
               _CLASHING_LINES.rows(user_id=user.pk, product_id=product.pk, currency=product.currency)}
    if product.pk in clashes:
        raise AlreadyInCart(f"“{product.title}” is already in your cart.")
    if clashes:
        other_currency = next(iter(clashes.values()))
        raise CurrencyMismatch(f"Your cart is priced in {other_currency.upper()}; “{product.title}” is priced in "
                               f"{product.currency.upper()}. Check out the cart first.")
    if product.stock == 0:
        raise NotEnoughStock(f"“{product.title}” is sold out.")
    try:
        with atomic_unless_autocommit():
            return CartItem.objects.create(user=user, product=product)
    except IntegrityError:
        raise AlreadyInCart(f"“{product.title}” is already in your cart.") from None


def cart_remove(*, user, product_id: int) -> None:
    CartItem.objects.filter(user=user, product_id=product_id).delete()


def cart_remove_ordered(*, order: Order) -> None:
    """Take what ``order`` bought out of its shopper's cart, inside the order's transaction (one statement). Lines
    the order did not buy -- a product added in another tab while a card payment was at Stripe -- are never
    touched."""
    CartItem.objects.filter(user_id=order.user_id,
                            product_id__in=OrderItem.objects.filter(order=order).values("product_id")).delete()
