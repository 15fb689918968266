"""What paid for an order, recorded once: ``OrderPayment`` holds at most one row per order (a unique constraint),
so an order can never be paid twice, whatever the path -- a second payment cannot be recorded, and the card path
refunds it instead (``orders.services.card``)."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from checkout.money import format_points
from orders.errors import OrderAlreadyPaid
from orders.models import Order, OrderPayment, OrderStatus, PaymentMethod


def order_payment_record(*, order: Order, method: str, amount: int, currency: str = "",
                         stripe_payment_intent_id: str = "", now: datetime | None = None) -> OrderPayment:
    """Record ``order``'s payment inside the caller's transaction (the order locked by the caller). Raises
    ``OrderAlreadyPaid`` with nothing recorded when it has one already: the database refused a second."""
    try:
        with transaction.atomic():
            return OrderPayment.objects.create(order=order, method=method, amount=amount, currency=currency,
                                               stripe_payment_intent_id=stripe_payment_intent_id,
                                               created_at=now or timezone.now())
    except IntegrityError as refused:
        first = OrderPayment.objects.filter(order=order).first()
        if first is None:
            raise
        raise OrderAlreadyPaid(f"Order {order.short_id} was already paid ({payment_description(first)}).",
                               first) from refused


def payment_description(payment: OrderPayment) -> str:
    if payment.method == PaymentMethod.POINTS:
        return format_points(payment.amount)
    return f"by card, Stripe payment {payment.stripe_payment_intent_id or 'unknown'}"


def order_paid_with_points_since(*, order: Order) -> Order | None:
    """The shopper's points order, placed after the card order ``order``, that paid for any of the same items:
    a card payment for ``order`` arriving now pays for them a second time. (Paying with points ends the card
    checkout in progress, but a payment can be on its way already: made on Stripe's page a moment before, or a
    bank debit that settles days later.) A points order refunded since does not count."""
    products = order.items.values("product_id")
    return (Order.objects.filter(user_id=order.user_id, payment_method=PaymentMethod.POINTS,
                                 status=OrderStatus.COMPLETED, created_at__gt=order.created_at)
            .filter(items__product_id__in=products).order_by("created_at").first())
