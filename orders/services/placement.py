"""Turning a cart into an order, and paying for it with points."""

from django.db import transaction
from django.utils import timezone

from orders.errors import CurrencyMismatch, EmptyCart, ProductUnavailable
from orders.models import CartItem, Order, OrderItem, OrderStatus, PaymentMethod
from orders.services.cart import cart_clear
from orders.services.status import order_record_creation, order_transition
from orders.services.stock import stock_take
from orders.tasks import send_order_confirmation
from wallet.services import wallet_spend


def _replayed_order(*, user, idempotency_key: str) -> Order | None:
    order = Order.objects.filter(idempotency_key=idempotency_key).first()
    if order is not None and order.user_id != user.pk:
        raise ValueError("This checkout token belongs to another shopper.")
    return order


def order_create_from_cart(*, user, payment_method: str, idempotency_key: str) -> Order:
    """Create a pending order from the shopper's cart, inside the caller's transaction.

    Locks the cart rows first, so two submits of one cart run one after the other; the second then finds the
    order the first made (same idempotency key) and returns it. Takes limited stock (rolled back with the
    caller's transaction on any later failure). Refusals raise CartError subclasses with the shopper's message."""
    items = list(CartItem.objects.select_for_update(of=("self",)).filter(user=user).select_related("product")
                 .order_by("id"))
    replayed = _replayed_order(user=user, idempotency_key=idempotency_key)
    if replayed is not None:
        return replayed
    if not items:
        raise EmptyCart("Your cart is empty.")
    for item in items:
        if not item.product.is_active:
            raise ProductUnavailable(f"“{item.product.title}” is no longer for sale; remove it from your cart.")
    currencies = {item.product.currency for item in items}
    if len(currencies) > 1:
        raise CurrencyMismatch("Your cart mixes currencies; remove the items in the other currency.")
    stock_take(quantities={item.product_id: item.quantity for item in items})
    order = Order.objects.create(
        user=user, payment_method=payment_method, idempotency_key=idempotency_key, currency=currencies.pop(),
        total_cents=sum(item.quantity * item.product.price_cents for item in items),
        total_points=sum(item.quantity * item.product.price_points for item in items),
    )
    OrderItem.objects.bulk_create([
        OrderItem(order=order, product=item.product, title=item.product.title, quantity=item.quantity,
                  unit_price_cents=item.product.price_cents, unit_price_points=item.product.price_points)
        for item in items
    ])
    order_record_creation(order=order, reason=f"Placed from the cart, paying by {PaymentMethod(payment_method).label}.")
    return order


@transaction.atomic
def order_pay_with_points(*, user, idempotency_key: str) -> Order:
    """Order the cart and pay with points, all in one transaction: the order and its items, the ledger entry,
    the stock and the emptied cart commit together or not at all. A replay returns the first order.

    Raises CartError subclasses or wallet's InsufficientPoints; nothing is changed then."""
    order = order_create_from_cart(user=user, payment_method=PaymentMethod.POINTS, idempotency_key=idempotency_key)
    if order.status != OrderStatus.PENDING:
        return order
    wallet_spend(user=user, points=order.total_points, idempotency_key=f"order:{order.pk}:pay",
                 description=f"Order {order.short_id}", order=order, metadata={"order_id": str(order.pk)})
    order_transition(order=order, to=OrderStatus.COMPLETED, reason=f"Paid with {order.total_points} points.",
                     fulfilled_at=timezone.now())
    cart_clear(user=user)
    order_queue_confirmation(order=order)
    return order


def order_queue_confirmation(*, order: Order) -> None:
    order_id = str(order.pk)
    transaction.on_commit(lambda: send_order_confirmation.delay(order_id))
