"""Refunds, started by staff. Points orders are refunded through the ledger at once; card orders through
checkout's refunds (recorded, then sent to Stripe after commit). A card order's refunded amount follows what Stripe
has accepted to refund of its payment (pending and succeeded refunds, also those made in Stripe's Dashboard): up
when a refund is accepted, down again -- and out of ``refunded`` -- when one fails or is canceled
(``orders.checkout_kind``)."""

import logging
from collections.abc import Callable
from enum import StrEnum

from django.db import transaction
from django.db.models import Count, Q, Sum

from checkout.errors import RefundRefused as CheckoutRefundRefused
from checkout.models import CheckoutSession, Refund
from checkout.services.refunds import refund_request, refund_submit, refundable_cents
from orders.errors import RefundRefused
from orders.models import Order, OrderStatus, OrderStatusChange, PaymentMethod
from orders.services.status import order_transition
from checkout.money import format_points
from shop.templatetags.shop_tags import money
from wallet.services import wallet_credit

logger = logging.getLogger(__name__)

HISTORY_LIMIT = OrderStatusChange._meta.get_field("reason").max_length


class RefundConfirmation(StrEnum):
    REFUNDED = "order refunded"
    PARTIALLY_REFUNDED = "order partially refunded"
    REFUND_UNDONE = "order's refund undone"
    ALREADY_RECORDED = "order refund already recorded"
    NO_ORDER = "refund of a cart checkout without an order"


def _reason(reason) -> str:
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise RefundRefused("Say why the order is refunded: the shopper and other staff will see it.")
    return reason


def _checked_amount(amount, remaining: int, unit: str) -> int:
    if amount is None:
        return remaining
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        raise RefundRefused(f"The refund must be a whole number of {unit} above zero.")
    if amount > remaining:
        raise RefundRefused(f"At most {remaining} {unit} can still be refunded on this order.")
    return amount


@transaction.atomic
def order_refund_points(*, order_id, staff_user, reason: str, points: int | None = None,
                        claim: Callable[[], object] | None = None) -> Order:
    """Give points back for a points-paid order: all that is left to refund, or ``points`` of it.

    The order row is locked, so two staff members clicking at once refund once; each partial refund has its own
    ledger key (derived from what was refunded before it), so a retried request cannot pay out twice. ``claim``
    (the admin form's one-time token) runs first in the same transaction: raising there refunds nothing."""
    reason = _reason(reason)
    if claim is not None:
        claim()
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.payment_method != PaymentMethod.POINTS:
        raise RefundRefused("This order was paid by card: refund it through Stripe.")
    if order.status != OrderStatus.COMPLETED:
        raise RefundRefused(f"Only completed orders can be refunded; this one is {order.get_status_display().lower()}.")
    points = _checked_amount(points, order.total_points - order.refunded_points, "points")
    wallet_credit(user=order.user, points=points, kind="refund",
                  idempotency_key=f"order:{order.pk}:refund:{order.refunded_points}+{points}",
                  description=f"Refund of order {order.short_id}", created_by=staff_user,
                  metadata={"order_id": str(order.pk), "reason": reason})
    order.refunded_points += points
    if order.refunded_points == order.total_points:
        return order_transition(order=order, to=OrderStatus.REFUNDED, changed_by=staff_user,
                                reason=f"Refunded {format_points(points)}: {reason}",
                                refunded_points=order.refunded_points)
    order.save(update_fields=["refunded_points", "updated_at"])
    OrderStatusChange.objects.create(order=order, from_status=order.status, to_status=order.status,
                                     changed_by=staff_user, reason=f"Partial refund of {points} points: {reason}")
    return order


def order_refund_stripe(*, order_id, staff_user, reason: str, cents: int | None = None,
                        claim: Callable[[], object] | None = None) -> Order:
    """Refund a card order through Stripe: all that is left to refund, or ``cents`` of it. The refund is recorded
    with the order's history (and the payment's session locked, so two staff members refund one after the other),
    then sent to Stripe after commit; ``charge.refunded`` later marks the order (partially) refunded.

    The refund's key is the order, what Stripe had confirmed (succeeded) as refunded before, the amount asked, and
    how many of the payment's refunds failed or were canceled: a retried or double click before Stripe's
    confirmation finds the first refund (and records nothing more), never makes a second one, while a refund asked
    again after one failed is a new one. Refused with ``RefundRefused``, nothing recorded, for bad requests; when
    Stripe refuses, the refund is recorded as failed and the order's history says so. ``claim`` (the admin
    form's one-time token) runs first in the transaction that records the refund: raising there records nothing."""
    reason = _reason(reason)
    with transaction.atomic():
        if claim is not None:
            claim()
        session_id = Order.objects.filter(pk=order_id).values_list("checkout_session_id", flat=True).first()
        # The session first, then the order: the order in which charge.refunded locks them.
        session = CheckoutSession.objects.select_for_update().filter(pk=session_id).first() if session_id else None
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.payment_method != PaymentMethod.STRIPE:
            raise RefundRefused("This order was paid with points: refund the points instead.")
        if order.status != OrderStatus.COMPLETED:
            raise RefundRefused(f"Only completed orders can be refunded; this one is "
                                f"{order.get_status_display().lower()}.")
        if session is None or not order.stripe_payment_intent_id:
            raise RefundRefused("Stripe's payment for this order is not known, so it cannot be refunded through "
                                "Stripe.")
        cents = _checked_cents(cents, order, left=refundable_cents(session))
        try:
            refund, created = refund_request(
                session=session, amount_cents=cents, reason=reason, requested_by=staff_user,
                idempotency_key=_refund_key(order, session, cents))
        except CheckoutRefundRefused as refusal:
            raise RefundRefused(str(refusal)) from refusal
        if created:
            OrderStatusChange.objects.create(
                order=order, from_status=order.status, to_status=order.status, changed_by=staff_user,
                reason=f"Refund of {money(cents, order.currency)} requested by staff: {reason}"[:HISTORY_LIMIT])
    refund = refund_submit(refund_id=refund.pk)
    if refund.status == Refund.Status.FAILED:
        raise RefundRefused(_stripe_refusal(refund))
    logger.info("Order %s: refund %s of %s cents %s (Stripe %s), asked by staff %s", order.pk, refund.pk, cents,
                refund.status, refund.stripe_refund_id, getattr(staff_user, "pk", None))
    return order


def _refund_key(order: Order, session: CheckoutSession, cents: int) -> str:
    refunds = session.refunds.aggregate(
        succeeded=Sum("amount_cents", filter=Q(status=Refund.Status.SUCCEEDED), default=0),
        undone=Count("id", filter=Q(status__in=Refund.UNDONE)))
    key = f"order:{order.pk}:refund:{refunds['succeeded']}+{cents}"
    return key + (f":after-{refunds['undone']}-undone" if refunds["undone"] else "")


def _checked_cents(cents, order: Order, *, left: int) -> int:
    """``left``: what the payment's refunds leave, counting those Stripe has not confirmed yet."""
    remaining = min(order.total_cents - order.refunded_cents, left)
    if remaining < 1:
        raise RefundRefused("Everything paid for this order has been refunded, or is being refunded (see the "
                            "order's history). Nothing more was refunded.")
    if cents is None:
        return remaining
    if isinstance(cents, bool) or not isinstance(cents, int) or cents < 1:
        raise RefundRefused("The refund must be a whole number of cents above zero.")
    if cents > remaining:
        raise RefundRefused(f"At most {money(remaining, order.currency)} ({remaining} cents) can still be refunded "
                            f"on this order.")
    return cents


def _stripe_refusal(refund: Refund) -> str:
    return (f"Stripe refused the refund: {refund.failure_message.rstrip('.')}. Nothing was refunded; the order's "
            f"history says so. Check the payment in Stripe's dashboard before trying again.")


def order_refund_failed(*, checkout_session, refund: Refund) -> str:
    """A refund of the order's payment failed or was canceled (inside the caller's transaction): its history says
    so, and the order's refunded amount (and status) follow what Stripe still has accepted to refund."""
    order = Order.objects.select_for_update().filter(checkout_session=checkout_session).first()
    if order is None:
        return "no order"
    verb = "canceled" if refund.status == Refund.Status.CANCELED else "refused"
    note = (f"Stripe {verb} the refund of {money(refund.amount_cents, refund.currency)}: "
            f"{refund.failure_message}")
    outcome = _follow(order, checkout_session, note=note)
    if outcome == RefundConfirmation.ALREADY_RECORDED:
        OrderStatusChange.objects.create(order=order, from_status=order.status, to_status=order.status,
                                         reason=note[:HISTORY_LIMIT])
    if order.status != OrderStatus.COMPLETED:
        logger.error("Order %s is %s and Stripe %s its refund: %s", order.pk, order.status, verb,
                     refund.failure_message)
    return f"order {order.short_id}: {outcome}" if outcome != RefundConfirmation.ALREADY_RECORDED else \
        f"order {order.short_id}: refusal recorded"


def order_refunds_follow(*, checkout_session, made_in_stripe: bool = False) -> RefundConfirmation:
    """Bring the card order ``checkout_session`` paid in line with what Stripe has accepted to refund of its
    payment (``checkout_session.stripe_refunded_cents``, which checkout keeps from the payment's refunds), inside
    the caller's transaction: the order takes that amount (at most its total), so a replay or an older event
    changes nothing. All of it refunded: the order is refunded; some: it stays completed, partially refunded,
    with a history entry."""
    order = Order.objects.select_for_update().filter(checkout_session=checkout_session).first()
    if order is None:
        logger.error("Stripe refunded the payment of cart checkout %s, which has no order", checkout_session.pk)
        return RefundConfirmation.NO_ORDER
    where = "A refund made in Stripe's Dashboard" if made_in_stripe else "Stripe accepted a refund"
    return _follow(order, checkout_session, note=where)


def _follow(order: Order, checkout_session, *, note: str) -> RefundConfirmation:
    accepted = checkout_session.stripe_refunded_cents
    if accepted > order.total_cents:
        logger.error("Stripe accepted refunds of %s cents of payment %s, more than order %s's %s", accepted,
                     checkout_session.stripe_payment_intent_id, order.pk, order.total_cents)
    target = min(accepted, order.total_cents)
    if target == order.refunded_cents:
        return RefundConfirmation.ALREADY_RECORDED
    if target < order.refunded_cents:
        return _refund_undone(order, target, note=note)
    added, order.refunded_cents = target - order.refunded_cents, target
    note = (f"{note} of {money(added, order.currency)}: {money(target, order.currency)} of "
            f"{money(order.total_cents, order.currency)} refunded")
    if target == order.total_cents and order.status != OrderStatus.REFUNDED:
        if Order.TRANSITIONS.allows(order.status, OrderStatus.REFUNDED):
            # A completed order, or one paid after its reservation ended that could not be fulfilled.
            order_transition(order=order, to=OrderStatus.REFUNDED, reason=f"{note}, all of it."[:HISTORY_LIMIT],
                             refunded_cents=target)
            return RefundConfirmation.REFUNDED
        logger.error("Order %s is %s, and its payment was refunded in full", order.pk, order.status)
    order.save(update_fields=["refunded_cents", "updated_at"])
    OrderStatusChange.objects.create(order=order, from_status=order.status, to_status=order.status,
                                     reason=f"{note}."[:HISTORY_LIMIT])
    return RefundConfirmation.REFUNDED if target == order.total_cents else RefundConfirmation.PARTIALLY_REFUNDED


def _refund_undone(order: Order, target: int, *, note: str) -> RefundConfirmation:
    """A refund the order counted failed or was canceled: the order counts only what is still refunded, and a
    refunded order gets back the status it had before (completed: its downloads work again)."""
    order.refunded_cents = target
    note = (f"{note.rstrip('.')}. {money(target, order.currency)} of {money(order.total_cents, order.currency)} "
            f"refunded now")
    if order.status == OrderStatus.REFUNDED:
        before = (order.status_changes.filter(to_status=OrderStatus.REFUNDED).order_by("-created_at", "-id")
                  .values_list("from_status", flat=True).first()) or OrderStatus.COMPLETED
        order_transition(order=order, to=before, refunded_cents=target,
                         reason=f"{note}; the order is {OrderStatus(before).label.lower()} again."[:HISTORY_LIMIT])
        return RefundConfirmation.REFUND_UNDONE
    order.save(update_fields=["refunded_cents", "updated_at"])
    OrderStatusChange.objects.create(order=order, from_status=order.status, to_status=order.status,
                                     reason=f"{note}."[:HISTORY_LIMIT])
    return RefundConfirmation.REFUND_UNDONE
