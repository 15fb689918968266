"""Cart writes. A digital good is bought once: a cart row is one copy, a product is in the cart at most once
(the database's ``cart_one_row_per_product``), and a product the shopper owns is never added. Every refusal
raises a CartError with a message for the shopper and leaves the cart unchanged."""

from django.db import IntegrityError, transaction

from orders.errors import AlreadyInCart, AlreadyOwned, CurrencyMismatch, NotEnoughStock, ProductUnavailable
from orders.models import CartItem, LibraryEntry
from shop.models import Product


def _buyable_product(product_id) -> Product:
    product = Product.objects.filter(pk=product_id).first()
    if product is None or not product.is_active:
        raise ProductUnavailable("This product is no longer for sale.")
    return product


def check_not_owned(*, user, products) -> None:
    """Raise AlreadyOwned naming the first of ``products`` the shopper owns already."""
    by_id = {product.pk: product for product in products}
    owned = (LibraryEntry.objects.filter(user=user, product_id__in=by_id).order_by("product_id")
             .values_list("product_id", flat=True).first())
    if owned is not None:
        raise AlreadyOwned(f"You already own “{by_id[owned].title}”: it is in your downloads.")


def cart_add(*, user, product_id: int) -> CartItem:
    """Add one copy of a product. Stock is checked, not reserved: reservation happens when a checkout starts, so
    an idle cart never keeps items from other shoppers. Refused when the product is in the cart already (a
    double click racing itself lands on the database's unique row and is refused the same way) or owned."""
    product = _buyable_product(product_id)
    check_not_owned(user=user, products=[product])
    if CartItem.objects.filter(user=user, product=product).exists():
        raise AlreadyInCart(f"“{product.title}” is already in your cart.")
    other_currency = (CartItem.objects.filter(user=user).exclude(product__currency=product.currency)
                      .values_list("product__currency", flat=True).first())
    if other_currency:
        raise CurrencyMismatch(f"Your cart is priced in {other_currency.upper()}; “{product.title}” is priced in "
                               f"{product.currency.upper()}. Check out the cart first.")
    if product.stock == 0:
        raise NotEnoughStock(f"“{product.title}” is sold out.")
    try:
        with transaction.atomic():
            return CartItem.objects.create(user=user, product=product)
    except IntegrityError:
        raise AlreadyInCart(f"“{product.title}” is already in your cart.") from None


def cart_remove(*, user, product_id: int) -> None:
    CartItem.objects.filter(user=user, product_id=product_id).delete()


def cart_remove_ordered(*, user, product_ids) -> None:
    """Take what an order bought out of the cart, inside the order's transaction. Lines the order did not buy --
    a product added in another tab while a card payment was at Stripe -- are never touched."""
    CartItem.objects.filter(user=user, product_id__in=list(product_ids)).delete()
