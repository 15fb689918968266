"""Cart writes. Every refusal raises a CartError with a message for the shopper and leaves the cart unchanged."""

from django.db import transaction
from django.db.models import F

from orders.errors import CurrencyMismatch, InvalidQuantity, NotEnoughStock, ProductUnavailable
from orders.models import CartItem
from shop.models import Product

MAX_QUANTITY_PER_LINE = 10


def _checked_quantity(quantity) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidQuantity("The quantity must be a whole number.")
    if not 1 <= quantity <= MAX_QUANTITY_PER_LINE:
        raise InvalidQuantity(f"The quantity must be between 1 and {MAX_QUANTITY_PER_LINE}.")
    return quantity


def _buyable_product(product_id) -> Product:
    product = Product.objects.filter(pk=product_id).first()
    if product is None or not product.is_active:
        raise ProductUnavailable("This product is no longer for sale.")
    return product


def _check_stock(product: Product, quantity: int) -> None:
    if product.stock is not None and quantity > product.stock:
        if product.stock == 0:
            raise NotEnoughStock(f"“{product.title}” is sold out.")
        raise NotEnoughStock(f"Only {product.stock} of “{product.title}” left; you asked for {quantity}.")


@transaction.atomic
def cart_add(*, user, product_id: int, quantity: int = 1) -> CartItem:
    """Add ``quantity`` copies (on top of what the cart holds). Stock is checked, not reserved: reservation
    happens when a checkout starts, so an idle cart never keeps items from other shoppers."""
    quantity = _checked_quantity(quantity)
    product = _buyable_product(product_id)
    other_currency = (CartItem.objects.filter(user=user).exclude(product__currency=product.currency)
                      .values_list("product__currency", flat=True).first())
    if other_currency:
        raise CurrencyMismatch(f"Your cart is priced in {other_currency.upper()}; “{product.title}” is priced in "
                               f"{product.currency.upper()}. Check out the cart first.")
    _check_stock(product, quantity)
    # Locks the existing row; a double click racing itself lands on the same row (unique user + product).
    item, created = CartItem.objects.select_for_update().get_or_create(
        user=user, product=product, defaults={"quantity": quantity})
    if created:
        return item
    new_quantity = _checked_quantity(item.quantity + quantity)
    _check_stock(product, new_quantity)
    item.quantity = new_quantity
    item.save(update_fields=["quantity", "updated_at"])
    return item


@transaction.atomic
def cart_set_quantity(*, user, product_id: int, quantity: int) -> CartItem | None:
    """Set a line's quantity; 0 removes the line (and returns None)."""
    if quantity == 0 and not isinstance(quantity, bool):
        cart_remove(user=user, product_id=product_id)
        return None
    quantity = _checked_quantity(quantity)
    item = CartItem.objects.select_for_update().select_related("product").filter(
        user=user, product_id=product_id).first()
    if item is None:
        return cart_add(user=user, product_id=product_id, quantity=quantity)
    if not item.product.is_active:
        raise ProductUnavailable(f"“{item.product.title}” is no longer for sale; remove it from your cart.")
    _check_stock(item.product, quantity)
    item.quantity = quantity
    item.save(update_fields=["quantity", "updated_at"])
    return item


def cart_remove(*, user, product_id: int) -> None:
    CartItem.objects.filter(user=user, product_id=product_id).delete()


def cart_remove_ordered(*, user, quantities: dict[int, int]) -> None:
    """Take what an order bought ({product_id: quantity}) out of the cart, inside the order's transaction: a line
    goes when the order took all of it, and keeps what was added on top (in another tab, while a card payment was
    at Stripe). Lines the order did not lock -- a product added in another tab while the payment ran -- are never
    touched, where deleting the whole cart would have lost them."""
    for product_id, ordered in quantities.items():
        lines = CartItem.objects.filter(user=user, product_id=product_id)
        # Delete first: a line updated first could fall to the threshold and go too.
        lines.filter(quantity__lte=ordered).delete()
        lines.filter(quantity__gt=ordered).update(quantity=F("quantity") - ordered)
