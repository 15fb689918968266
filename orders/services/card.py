"""Card orders: the cart becomes a pending order whose limited stock is reserved while its checkout session is
active. The session's end releases the reservation (order cancelled, or failed when the bank refused); its
payment completes the order exactly once.

Reservations are stock taken from ``Product.stock`` when the order is created (``stock_take``) and given back
when the order is cancelled or fails (``stock_return``): so a reservation lives exactly as long as its order is
pending, and a pending card order lives at most as long as its checkout session (released row by row when a
session ends through a service, and by ``orders_release_ended_reservations`` after the set-based cleanup).
"""

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from checkout.models import CheckoutSession
from checkout.selectors import checkout_session_open
from checkout.services import (
    Offer,
    ReplaceNotConfirmed,
    checkout_session_cancel,
    checkout_session_end_active,
    checkout_session_start,
)
from orders.cart_seen import CartSeen
from checkout.services.refunds import refund_request, refund_submit
from checkout.tasks import submit_refund
from orders.errors import NotEnoughStock, OrderAlreadyPaid, OtherCheckoutOpen, ReservationLimitReached
from orders.models import CART, Order, OrderStatus, OrderStatusChange, PaymentMethod
from orders.services.cart import cart_remove_ordered
from orders.services.payments import order_delivered_elsewhere, order_payment_record, paid_how
from orders.services.notifications import order_queue_confirmation
from orders.services.placement import order_create_from_cart, order_quantities
from orders.services.status import order_transition
from orders.services.stock import stock_return, stock_take

logger = logging.getLogger(__name__)

RELEASE_BATCH = 200
HISTORY_LIMIT = OrderStatusChange._meta.get_field("reason").max_length
ENDED = [CheckoutSession.Status.EXPIRED, CheckoutSession.Status.INVALIDATED]


@transaction.atomic
def order_checkout_start(*, user, idempotency_key: str, product_id: int | None = None,
                         now: datetime | None = None, seen: CartSeen | None = None,
                         replacing=None) -> CheckoutSession:
    """Turn the cart (or, with ``product_id``, that one product: "Buy now", the cart left as it is) into a
    pending card order with a fresh checkout session, in one transaction.

    The shopper's active checkout session (an earlier cart) ends first, so a reservation it held is given back
    before this order takes stock: re-checking-out the last copy works. An open checkout of another kind (a
    points package) ends only when ``replacing`` names it -- the shopper was told and chose -- and otherwise
    ``OtherCheckoutOpen`` says which it is. A replay (same form token) returns the session the first request
    made. ``seen``: what the shopper's page showed (``order_create_from_cart``). Raises CartError subclasses
    with the shopper's message."""
    now = now or timezone.now()
    replayed = Order.objects.filter(user=user, idempotency_key=idempotency_key).select_related("checkout_session")
    replayed = replayed.first()
    if replayed is not None and replayed.checkout_session is not None:
        return replayed.checkout_session
    try:
        ended = checkout_session_end_active(user=user, now=now, confirm_other_than=CART, replacing=replacing)
    except ReplaceNotConfirmed as unconfirmed:
        raise _other_checkout_open(unconfirmed.session) from unconfirmed
    order = order_create_from_cart(user=user, payment_method=PaymentMethod.STRIPE, idempotency_key=idempotency_key,
                                   product_id=product_id, seen=seen)
    _check_reservation_limit(order)
    session = checkout_session_start(user=user, continues=ended, now=now, offer=Offer(
        kind=CART, title=f"Order {order.short_id}", amount_cents=order.total_cents, currency=order.currency)).session
    order.checkout_session = session
    order.save(update_fields=["checkout_session", "updated_at"])
    return session


def _other_checkout_open(session: CheckoutSession) -> OtherCheckoutOpen:
    return OtherCheckoutOpen(
        f"You have a checkout open for {session.title}. Paying for this order by card would end it: continue that "
        f"purchase, or replace it with this order.", open=checkout_session_open(session))


def _check_reservation_limit(order: Order) -> None:
    """A card checkout holds its limited copies until it is paid or ends (up to CHECKOUT_SESSION_TTL): cap them
    per shopper, so one account cannot keep a limited edition from everyone else without paying. The shopper's
    earlier card checkout has just ended (one active session per shopper), so this order is all they hold.
    Raising rolls the whole start back: nothing is taken, nothing ended."""
    limit = settings.RESERVATION_LIMIT_PER_SHOPPER
    limited = order.items.filter(product__stock__isnull=False).aggregate(copies=Sum("quantity"))["copies"] or 0
    if limited > limit:
        raise ReservationLimitReached(
            f"A card payment can hold at most {limit} limited editions while you pay; your cart has "
            f"{limited}. Pay for some of them first, or pay with points (nothing is held then).")


def order_checkout_abandon(*, checkout_session_id, user, why: str) -> None:
    """Stripe failed to open the payment page (5xx, timeout, connection error, refusal): end the checkout now
    rather than at its expiry, so its order is cancelled and the copies it reserved go back on sale at once. The
    cart was never touched, so the shopper can simply try again (a new order, a new session).

    Runs after Stripe's answer, in a transaction of its own (Stripe is never called under a lock). When the
    answer was lost after Stripe made its session, nobody holds that session's URL; should it be paid all the
    same, the payment of an ended session is honoured or refunded like any late payment."""
    checkout_session_cancel(session_id=checkout_session_id, user=user,
                            note=f"Stripe could not open the payment page: {why}"[:300])


def order_reservation_release(*, checkout_session: CheckoutSession, now: datetime | None = None) -> Order | None:
    """The session ended unpaid: give the stock back and end the order (failed when the bank refused the
    payment, cancelled otherwise). Runs inside the caller's transaction; nothing to do once the order moved on."""
    order = Order.objects.select_for_update().filter(checkout_session=checkout_session,
                                                     status=OrderStatus.PENDING).first()
    if order is None:
        return None
    return _release(order, failed=bool(checkout_session.failure_message))


def _release(order: Order, *, failed: bool) -> Order:
    stock_return(quantities=order_quantities(order))
    if failed:
        return order_transition(order=order, to=OrderStatus.FAILED,
                                reason="The payment failed; the reserved copies went back on sale.")
    return order_transition(order=order, to=OrderStatus.CANCELLED,
                            reason="The checkout ended unpaid; the reserved copies went back on sale.")


def orders_release_ended_reservations(*, limit: int = RELEASE_BATCH) -> int:
    """After the set-based cleanup: release pending card orders whose session has ended or was purged.
    Each order in its own short transaction, skipping rows a payment is working on right now."""
    released = 0
    candidates = (Order.objects.filter(payment_method=PaymentMethod.STRIPE, status=OrderStatus.PENDING)
                  .filter(Q(checkout_session__isnull=True) | Q(checkout_session__status__in=ENDED))
                  .values_list("pk", flat=True)[:limit])
    for order_id in list(candidates):
        with transaction.atomic():
            order = (Order.objects.select_for_update(skip_locked=True, of=("self",))
                     .select_related("checkout_session").filter(pk=order_id, status=OrderStatus.PENDING).first())
            if order is None:
                continue
            session = order.checkout_session
            if session is not None and session.status not in ENDED:
                continue
            _release(order, failed=bool(session and session.failure_message))
            released += 1
    if released:
        logger.info("Released the reservations of %s ended card orders", released)
    return released


def order_complete_from_checkout(*, checkout_session: CheckoutSession, payment_intent: str,
                                 now: datetime | None = None) -> Order | None:
    """The session is paid: record the payment and complete its order once (inside the caller's transaction,
    under the session's lock).

    Money that arrives after the reservation ended (Stripe accepted a payment just before the session was
    given up, or a bank debit settled days later) is honoured when the copies can still be taken. It is refunded
    in full instead -- recorded now, sent to Stripe after commit; the order is marked refunded when Stripe
    confirms it -- when the order cannot be delivered: its copies are sold out (limited stock is never
    oversold), the shopper owns the same items through another order meanwhile, paid with points or by another
    card checkout (``order_delivered_elsewhere``), or
    the order has a payment already (the database keeps one per order)."""
    now = now or timezone.now()
    order = Order.objects.select_for_update().filter(checkout_session=checkout_session).first()
    if order is None:
        logger.error("Paid cart checkout %s has no order", checkout_session.pk)
        return None
    try:
        order_payment_record(order=order, method=PaymentMethod.STRIPE, amount=checkout_session.amount_cents,
                             currency=checkout_session.currency, stripe_payment_intent_id=payment_intent or "",
                             now=now)
    except OrderAlreadyPaid as paid:
        if paid.payment.method == PaymentMethod.STRIPE and paid.payment.stripe_payment_intent_id == payment_intent:
            return order  # this very payment, recorded before
        logger.error("Order %s was paid twice: %s; refunding the card payment %s", order.pk, paid, payment_intent)
        _refund_undeliverable(order, checkout_session, key=f"order:{order.pk}:paid-twice:{payment_intent}", now=now,
                              reason=f"{paid} This second payment (Stripe {payment_intent or 'unknown'}) is "
                                     f"refunded in full automatically.")
        return order
    order.stripe_payment_intent_id = payment_intent or ""
    instead = order_delivered_elsewhere(order=order)
    if instead is not None:
        logger.error("Order %s was paid by card after the same items were delivered by order %s: refunding",
                     order.pk, instead.pk)
        order.superseded_by = instead
        if order.status == OrderStatus.PENDING:
            _release(order, failed=False)
        _refund_undeliverable(order, checkout_session, key=f"order:{order.pk}:delivered-elsewhere", now=now,
                              reason=f"The card payment arrived after the same items were paid {paid_how(instead)} "
                                     f"(order {instead.short_id}). Refunding it in full automatically.")
        return order
    if order.status in (OrderStatus.CANCELLED, OrderStatus.FAILED):
        try:
            with transaction.atomic():
                stock_take(quantities=order_quantities(order))
        except NotEnoughStock as sold_out:
            logger.error("Order %s was paid after its reservation ended and is sold out: refunding", order.pk)
            _refund_undeliverable(order, checkout_session, key=f"order:{order.pk}:unfulfillable", now=now,
                                  reason=f"Paid after the reservation ended, but {sold_out} Refunding in full.")
            return order
    order_transition(order=order, to=OrderStatus.COMPLETED, fulfilled_at=now,
                     stripe_payment_intent_id=order.stripe_payment_intent_id,
                     reason=f"Paid by card (Stripe payment {payment_intent or 'unknown'}).")
    cart_remove_ordered(order=order)
    order_queue_confirmation(order=order)
    return order


def _refund_undeliverable(order: Order, checkout_session: CheckoutSession, *, key: str, reason: str,
                          now: datetime) -> None:
    """Refund in full a card payment the order cannot take: recorded with a line in the order's history (staff
    see it there, in the admin and on the dashboard), sent to Stripe by a task after commit."""
    order.save(update_fields=["stripe_payment_intent_id", "superseded_by", "updated_at"])
    OrderStatusChange.objects.create(order=order, from_status=order.status, to_status=order.status,
                                     reason=reason[:HISTORY_LIMIT])
    refund, _created = refund_request(session=checkout_session, amount_cents=checkout_session.amount_cents,
                                      idempotency_key=key, reason=reason, now=now)
    refund_id = str(refund.pk)
    transaction.on_commit(lambda: submit_refund.delay(refund_id))


def order_refund_unfulfillable(*, order_id) -> None:
    """Refund in full a card order paid after its reservation ended and not fulfilled: record the refund if it is
    missing (an order refunded before refunds had records of their own), then send it."""
    with transaction.atomic():
        order = Order.objects.filter(pk=order_id).exclude(stripe_payment_intent_id="").first()
        if order is None or order.status == OrderStatus.COMPLETED or order.checkout_session_id is None:
            return
        session = CheckoutSession.objects.select_for_update().get(pk=order.checkout_session_id)
        refund, _created = refund_request(session=session, amount_cents=session.amount_cents,
                                          idempotency_key=f"order:{order.pk}:unfulfillable",
                                          reason="Paid after the reservation ended, but sold out.")
    refund_submit(refund_id=refund.pk)
