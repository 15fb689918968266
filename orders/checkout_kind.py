"""Card orders paid through checkout: the handler checkout calls for sessions of kind ``cart`` (registered in
``OrdersConfig.ready``). Each hook runs inside checkout's transaction, with the session locked."""

from datetime import datetime

from django.urls import reverse

from checkout.kinds import BooksDifference, Payment, RefundProgress, SessionKind
from checkout.models import CheckoutSession
from orders.models import CART, Order, OrderStatus, PaymentMethod
from orders.services.card import (
    order_complete_from_checkout,
    order_reservation_release,
    orders_release_ended_reservations,
)
from orders.services.disputes import order_dispute_close, order_dispute_open
from orders.services.refunds import order_refund_failed, order_refunds_follow


class CartKind(SessionKind):
    name = CART
    refund_elsewhere = "This checkout paid for an order: refund the order instead."

    def on_paid(self, *, session, payment: Payment, now: datetime) -> str:
        order = order_complete_from_checkout(checkout_session=session, payment_intent=payment.payment_intent_id,
                                             now=now)
        if order is None:
            return "no order to fulfil"
        if order.status != OrderStatus.COMPLETED:
            return f"order {order.short_id} {order.get_status_display().lower()}: the payment is refunded"
        return f"order {order.short_id} completed"

    def on_ended_unpaid(self, *, session, now: datetime) -> None:
        order_reservation_release(checkout_session=session, now=now)

    def on_refunded(self, *, session, progress: RefundProgress, now: datetime) -> str:
        return order_refunds_follow(checkout_session=session, made_in_stripe=progress.made_in_stripe)

    def on_refund_failed(self, *, session, refund, now: datetime) -> str:
        return order_refund_failed(checkout_session=session, refund=refund)

    def sweep(self, *, now: datetime) -> int:
        return orders_release_ended_reservations()

    def refund_url(self, session) -> str | None:
        order_id = getattr(getattr(session, "order", None), "pk", None)
        return reverse("admin:orders_order_refund", args=[order_id]) if order_id else None

    def books_differences(self, *, since: datetime, until: datetime) -> list[BooksDifference]:
        """Card orders delivered (completed, or refunded after delivery) in the window whose checkout session is
        not completed: delivered without a payment checkout saw."""
        delivered = (Order.objects.filter(payment_method=PaymentMethod.STRIPE, created_at__gte=since,
                                          created_at__lt=until, fulfilled_at__isnull=False)
                     .exclude(checkout_session__status=CheckoutSession.Status.COMPLETED)
                     .only("id", "total_cents", "currency", "status", "checkout_session_id"))
        return [BooksDifference(
            "order_without_payment", f"Order {order.short_id} was delivered ({order.get_status_display().lower()}) "
            f"but its card payment's checkout session {order.checkout_session_id or '(none)'} is not completed.",
            checkout_session_id=str(order.checkout_session_id or ""), amount_cents=order.total_cents,
            currency=order.currency) for order in delivered]
    def on_dispute_opened(self, *, session, dispute, now: datetime) -> str:
        return order_dispute_open(checkout_session=session, dispute=dispute, now=now)

    def on_dispute_closed(self, *, session, dispute, won: bool, now: datetime) -> str:
        return order_dispute_close(checkout_session=session, dispute=dispute, won=won, now=now)

    def staff_url(self, session) -> str | None:
        order_id = getattr(getattr(session, "order", None), "pk", None)
        return reverse("admin:orders_order_change", args=[order_id]) if order_id else None

    def shopper_url(self, session) -> str | None:
        order_id = getattr(getattr(session, "order", None), "pk", None)
        return reverse("orders:detail", args=[order_id]) if order_id else None
