"""Card orders paid through checkout: the handler checkout calls for sessions of kind ``cart`` (registered in
``OrdersConfig.ready``). Each hook runs inside checkout's transaction, with the session locked."""

from datetime import datetime

from django.urls import reverse

from checkout.kinds import Payment, RefundProgress, SessionKind
from orders.models import CART
from orders.services.card import (
    order_complete_from_checkout,
    order_reservation_release,
    orders_release_ended_reservations,
)
from orders.services.refunds import order_refund_failed, order_refunds_follow


class CartKind(SessionKind):
    name = CART
    refund_elsewhere = "This checkout paid for an order: refund the order instead."

    def on_paid(self, *, session, payment: Payment, now: datetime) -> str:
        order = order_complete_from_checkout(checkout_session=session, payment_intent=payment.payment_intent_id,
                                             now=now)
        return f"order {order.short_id} {order.get_status_display().lower()}" if order else "no order to fulfil"

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
