"""Turning a cart into an order, and paying for it with points."""

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from checkout.money import format_points
from checkout.services import checkout_lock_shopper, checkout_session_end_active
from ops.prepared import PreparedQuery
from orders.cart_seen import CartSeen, cart_seen_matches
from orders.errors import CartChanged, CheckoutFormUsed, CurrencyMismatch, EmptyCart, ProductUnavailable
from orders.models import CART, CartItem, LibraryEntry, Order, OrderItem, OrderStatus, PaymentMethod
from orders.selectors import order_paid_for_seen
from orders.services.cart import already_owned, cart_remove_ordered, check_not_owned
from orders.services.library import library_sync_order
from orders.services.notifications import order_queue_confirmation
from orders.services.payments import order_payment_record, paid_how
from orders.services.status import order_record_creation
from orders.services.stock import stock_take
from shop.models import Product
from wallet.services import wallet_spend


def _replayed_order(*, user, idempotency_key: str, payment_method: str) -> Order | None:
    found = _ORDER_BY_KEY.rows(idempotency_key=idempotency_key)
    order = found[0] if found else None
    if order is not None and order.user_id != user.pk:
        raise ValueError("This checkout token belongs to another shopper.")
    if order is not None and order.payment_method != payment_method:
        # Card and points forms carry tokens of their own: one order is never paid both ways.
        raise CheckoutFormUsed(f"This checkout form already placed order {order.short_id}, paid "
                               f"{paid_how(order)}; "
                               f"reload your cart to pay another way.")
    return order


def order_create_from_cart(*, user, payment_method: str, idempotency_key: str, product_id: int | None = None,
                           seen: CartSeen | None = None) -> Order:
    """Create a pending order from the shopper's cart -- or, with ``product_id``, for that one product ("Buy now",
    the cart left as it is) -- inside the caller's transaction.

    Locks the shopper's row and then the cart rows, so two submits of one cart (or two tabs buying the same
    product) run one after the other; the second then finds the order the first made (same idempotency key) and
    returns it, or is refused because the shopper owns the product by then. Takes limited stock (rolled back with
    the caller's transaction on any later failure). Refusals raise CartError subclasses with the shopper's
    message: an empty cart, a product no longer for sale or owned already, mixed currencies, too little stock.

    ``seen``: the cart as the shopper's page showed it. When the cart is no longer that (paid or changed in
    another tab meanwhile) nothing is ordered: ``CartChanged`` says what happened, found in the database."""
    checkout_lock_shopper(user)
    replayed = _replayed_order(user=user, idempotency_key=idempotency_key, payment_method=payment_method)
    if replayed is not None:
        return replayed
    return _order_place(user=user, payment_method=payment_method, idempotency_key=idempotency_key,
                        product_id=product_id, seen=seen)


def _order_place(*, user, payment_method: str, idempotency_key: str, product_id: int | None,
                 seen: CartSeen | None, paid_at=None) -> Order:
    """``order_create_from_cart`` once the shopper is locked and the key found unused. ``paid_at``: the caller
    pays for the order in this same transaction (with points), so it is created completed, fulfilled then, and
    its history records it placed and then paid; nothing commits unless the payment does."""
    if product_id is None:
        items = _CART_LOCKED.rows(user_id=user.pk)
        products = [item.product for item in items]
        origin = "Placed from the cart"
    else:
        products = list(Product.objects.filter(pk=product_id))
        origin = "Bought now from the product page"
    if product_id is None and seen is not None and not cart_seen_matches(seen, items=items):
        raise _cart_changed(user=user, seen=seen, empty=not items)
    if not products:
        raise EmptyCart("Your cart is empty." if product_id is None else "This product is no longer for sale.")
    for product in products:
        if not product.is_active:
            raise ProductUnavailable(f"“{product.title}” is no longer for sale"
                                     f"{'; remove it from your cart' if product_id is None else ''}.")
    if product_id is None:
        owned_items = sorted((item for item in items if item.owned), key=lambda item: item.product_id)
        if owned_items:
            raise already_owned(owned_items[0].product)
    else:
        check_not_owned(user=user, products=products)
    currencies = {product.currency for product in products}
    if len(currencies) > 1:
        raise CurrencyMismatch("Your cart mixes currencies; remove the items in the other currency.")
    # Unlimited as read a moment ago: nothing to take. (Staff limiting it meanwhile limits the orders after this.)
    stock_take(quantities={product.pk: 1 for product in products if product.stock is not None})
    order = Order.objects.create(
        user=user, payment_method=payment_method, idempotency_key=idempotency_key, currency=currencies.pop(),
        total_cents=sum(product.price_cents for product in products),
        total_points=sum(product.price_points for product in products),
        **({"status": OrderStatus.COMPLETED, "fulfilled_at": paid_at} if paid_at is not None else {}),
    )
    OrderItem.objects.bulk_create([
        OrderItem(order=order, product=product, title=product.title, quantity=1,
                  unit_price_cents=product.price_cents, unit_price_points=product.price_points)
        for product in products
    ])
    order_record_creation(order=order, reason=f"{origin}, paying by {PaymentMethod(payment_method).label}.",
                          paid_reason=f"Paid with {format_points(order.total_points)}." if paid_at else "")
    return order


def _order_by_key(*, idempotency_key: str):
    return Order.objects.filter(idempotency_key=idempotency_key).order_by()[:1]


def _cart_locked(*, user_id: int):
    """The cart's lines with their products, locked, each with ``owned`` (the shopper owns its product)."""
    owned = LibraryEntry.objects.filter(user_id=user_id, product_id=OuterRef("product_id"))
    return (CartItem.objects.select_for_update(of=("self",)).filter(user_id=user_id).select_related("product")
            .annotate(owned=Exists(owned)).order_by("id"))


# Every order placed runs these: built once per process, run prepared.
_ORDER_BY_KEY = PreparedQuery(_order_by_key, idempotency_key=str)
_CART_LOCKED = PreparedQuery(_cart_locked, user_id=int)


def _cart_changed(*, user, seen: CartSeen, empty: bool) -> CartChanged:
    paid = order_paid_for_seen(user=user, seen=seen)
    if paid is not None:
        message = f"This cart was paid a moment ago: order {paid.short_id}."
        if not empty:
            message += " Your cart has changed since; check it below before paying."
    elif empty:
        message = "Your cart was emptied in another tab or window; nothing was paid."
    else:
        message = "Your cart changed in another tab or window; nothing was paid. Check it below and pay again."
    return CartChanged(message, paid_order=paid, empty=empty)


@transaction.atomic
def order_pay_with_points(*, user, idempotency_key: str, product_id: int | None = None,
                          seen: CartSeen | None = None) -> Order:
    """Order the cart (or, with ``product_id``, that one product: "Buy now") and pay with points, all in one
    transaction: the order and its items, the ledger entry, its payment record, the stock, the library and the
    cart lines bought commit together or not at all. A replay returns the first order.

    The cart's card checkout in progress ends first (its order cancelled, its reserved copies back for this
    order), and its Stripe page is made unpayable after commit -- Stripe is never called inside this transaction.
    A card payment that was on its way all the same is refunded when it arrives (``order_complete_from_checkout``).

    ``seen``: what the shopper's page showed (``order_create_from_cart``). Raises CartError subclasses or wallet's
    InsufficientPoints; nothing is changed then: a refusal undoes the whole transaction, so the writes below need
    no savepoints of their own."""
    now = timezone.now()
    checkout_lock_shopper(user)
    replayed = _replayed_order(user=user, idempotency_key=idempotency_key, payment_method=PaymentMethod.POINTS)
    if replayed is not None:
        return replayed  # paid in the transaction that placed it: a points order never commits pending
    checkout_session_end_active(user=user, kind=CART, now=now, shopper_locked=True)
    order = _order_place(user=user, payment_method=PaymentMethod.POINTS, idempotency_key=idempotency_key,
                         product_id=product_id, seen=seen, paid_at=now)
    wallet_spend(user=user, points=order.total_points, idempotency_key=f"order:{order.pk}:pay",
                 description=f"Order {order.short_id}", order=order, metadata={"order_id": str(order.pk)},
                 savepoint=False)
    order_payment_record(order=order, method=PaymentMethod.POINTS, amount=order.total_points, now=now,
                         new_order=True)
    library_sync_order(order=order)
    # Only the lines of what this order bought (owned now): a line added in another tab meanwhile stays.
    cart_remove_ordered(order=order)
    order_queue_confirmation(order=order)
    return order


def order_quantities(order: Order) -> dict[int, int]:
    return {item.product_id: item.quantity for item in order.items.all()}

