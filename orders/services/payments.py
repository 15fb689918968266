"""What paid for an order, recorded once: ``OrderPayment`` holds at most one row per order (a unique constraint),
so an order can never be paid twice, whatever the path -- a second payment cannot be recorded, and the card path
refunds it instead (``orders.services.card``)."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from checkout.money import format_points
from orders.errors import OrderAlreadyPaid
from orders.models import Order, OrderPayment, PaymentMethod


def order_payment_record(*, order: Order, method: str, amount: int, currency: str = "",
                         stripe_payment_intent_id: str = "", now: datetime | None = None,
                         new_order: bool = False) -> OrderPayment:
    """Record ``order``'s payment inside the caller's transaction (the order locked by the caller). Raises
    ``OrderAlreadyPaid`` with nothing recorded when it has one already: the database refused a second.
    ``new_order``: the caller created ``order`` in this transaction, so no payment can be there yet and no
    savepoint (two round trips) guards the insert."""
    payment = OrderPayment(order=order, method=method, amount=amount, currency=currency,
                           stripe_payment_intent_id=stripe_payment_intent_id, created_at=now or timezone.now())
    if new_order:
        payment.save(force_insert=True)
        return payment
    try:
        with transaction.atomic():
            payment.save(force_insert=True)
            return payment
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


def order_delivered_elsewhere(*, order: Order) -> Order | None:
    """The shopper's other order that already delivers one of ``order``'s items (the library holds one row per
    product owned): a card payment for ``order`` arriving now pays for it a second time. That happens when a
    payment was already on its way while the shopper bought the same item again -- made on Stripe's page a moment
    before paying with points or starting a new card checkout, or a bank debit that settles days later. An order
    refunded since, or whose dispute was lost, no longer delivers and does not count."""
    return (Order.objects.filter(items__library_entries__user_id=order.user_id,
                                 items__product_id__in=order.items.values("product_id"))
            .exclude(pk=order.pk).order_by("created_at").first())


def paid_how(order: Order) -> str:
    """How ``order`` is paid, as the shopper's messages say it: "with points" or "by card"."""
    return "with points" if order.payment_method == PaymentMethod.POINTS else "by card"
