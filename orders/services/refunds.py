"""Refunds, started by staff. Points orders are refunded through the ledger at once; card orders through Stripe,
and marked refunded when Stripe's ``charge.refunded`` event confirms it (see checkout's webhook handling)."""

import logging
from enum import StrEnum

from django.db import transaction

from checkout import gateway
from checkout.gateway import PaymentProviderError
from orders.errors import RefundRefused
from orders.models import Order, OrderStatus, OrderStatusChange, PaymentMethod
from orders.services.status import order_transition
from shop.templatetags.shop_tags import money
from wallet.services import wallet_credit

logger = logging.getLogger(__name__)

HISTORY_LIMIT = OrderStatusChange._meta.get_field("reason").max_length
STRIPE_METADATA_LIMIT = 500  # Stripe refuses longer metadata values
# Stripe's refusals that mean "less is left to refund than asked": usually a refund requested earlier whose
# charge.refunded has not arrived yet.
NOTHING_LEFT_CODES = frozenset({"amount_too_large", "charge_already_refunded"})


class RefundConfirmation(StrEnum):
    REFUNDED = "order refunded"
    PARTIALLY_REFUNDED = "order partially refunded"
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
def order_refund_points(*, order_id, staff_user, reason: str, points: int | None = None) -> Order:
    """Give points back for a points-paid order: all that is left to refund, or ``points`` of it.

    The order row is locked, so two staff members clicking at once refund once; each partial refund has its own
    ledger key (derived from what was refunded before it), so a retried request cannot pay out twice."""
    reason = _reason(reason)
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
                                reason=f"Refunded {points} points: {reason}", refunded_points=order.refunded_points)
    order.save(update_fields=["refunded_points", "updated_at"])
    OrderStatusChange.objects.create(order=order, from_status=order.status, to_status=order.status,
                                     changed_by=staff_user, reason=f"Partial refund of {points} points: {reason}")
    return order


@transaction.atomic
def order_refund_stripe(*, order_id, staff_user, reason: str, cents: int | None = None) -> Order:
    """Ask Stripe to refund a card order: all that is left to refund, or ``cents`` of it. The order stays
    completed and gets a history entry; ``charge.refunded`` later marks it (partially) refunded.

    The idempotency key is the order, what Stripe had confirmed as refunded before, and the amount asked: a
    retried or double click before Stripe's confirmation gets the first refund back from Stripe (and records
    nothing more), never a second one. The order row stays locked while Stripe is asked, so a double click waits
    for the first and the confirming webhook lands after the request in the history. Refused with
    ``RefundRefused``, nothing recorded, for bad requests and when Stripe refuses or fails."""
    reason = _reason(reason)
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.payment_method != PaymentMethod.STRIPE:
        raise RefundRefused("This order was paid with points: refund the points instead.")
    if order.status != OrderStatus.COMPLETED:
        raise RefundRefused(f"Only completed orders can be refunded; this one is {order.get_status_display().lower()}.")
    if not order.stripe_payment_intent_id:
        raise RefundRefused("Stripe's payment for this order is not known, so it cannot be refunded through Stripe.")
    cents = _checked_cents(cents, order)
    try:
        refund = gateway.refund_create(
            payment_intent_id=order.stripe_payment_intent_id, amount_cents=cents,
            idempotency_key=f"order:{order.pk}:refund:{order.refunded_cents}+{cents}",
            metadata={"order_id": str(order.pk), "reason": reason[:STRIPE_METADATA_LIMIT]})
    except PaymentProviderError as error:
        raise RefundRefused(_stripe_refusal(error)) from error
    marker = f"(Stripe {refund.id})"
    if order.status_changes.filter(reason__contains=marker).exists():
        return order  # a repeated click: Stripe answered with the refund the first one made
    OrderStatusChange.objects.create(
        order=order, from_status=order.status, to_status=order.status, changed_by=staff_user,
        reason=f"Refund of {money(cents, order.currency)} requested by staff {marker}: {reason}"[:HISTORY_LIMIT])
    logger.info("Order %s: refund of %s cents requested from Stripe (%s) by staff %s", order.pk, cents, refund.id,
                getattr(staff_user, "pk", None))
    return order


def _checked_cents(cents, order: Order) -> int:
    remaining = order.total_cents - order.refunded_cents
    if cents is None:
        return remaining
    if isinstance(cents, bool) or not isinstance(cents, int) or cents < 1:
        raise RefundRefused("The refund must be a whole number of cents above zero.")
    if cents > remaining:
        raise RefundRefused(f"At most {money(remaining, order.currency)} ({remaining} cents) can still be refunded "
                            f"on this order.")
    return cents


def _stripe_refusal(error: PaymentProviderError) -> str:
    if error.code in NOTHING_LEFT_CODES:
        return (f"Stripe refused: {error.provider_message.rstrip('.')}. A refund requested earlier may still be "
                f"waiting for Stripe's confirmation (see the order's history). Nothing was refunded.")
    return f"{error.user_message} (Stripe: {error.provider_message or 'no answer'})"


def order_refund_confirm(*, checkout_session, refunded_cents: int) -> RefundConfirmation:
    """Apply Stripe's ``charge.refunded`` to the card order ``checkout_session`` paid, inside the caller's
    transaction. ``refunded_cents`` is the charge's cumulative ``amount_refunded``: the order takes ``max(what it
    has, that)``, so a replay or an older event changes nothing. All of it refunded: the order is refunded; some:
    it stays completed, partially refunded, with a history entry."""
    order = Order.objects.select_for_update().filter(checkout_session=checkout_session).first()
    if order is None:
        logger.error("Stripe refunded the payment of cart checkout %s, which has no order", checkout_session.pk)
        return RefundConfirmation.NO_ORDER
    payment_intent_id = checkout_session.stripe_payment_intent_id
    if refunded_cents > order.total_cents:
        logger.error("Stripe says %s cents of payment %s were refunded, more than order %s's %s", refunded_cents,
                     payment_intent_id, order.pk, order.total_cents)
    confirmed = min(refunded_cents, order.total_cents)
    if confirmed <= order.refunded_cents:
        return RefundConfirmation.ALREADY_RECORDED
    added, order.refunded_cents = confirmed - order.refunded_cents, confirmed
    note = (f"Stripe confirmed a refund of {money(added, order.currency)}: {money(confirmed, order.currency)} of "
            f"{money(order.total_cents, order.currency)} refunded")
    if confirmed == order.total_cents and order.status == OrderStatus.COMPLETED:
        order_transition(order=order, to=OrderStatus.REFUNDED, reason=f"{note}, all of it.", refunded_cents=confirmed)
        return RefundConfirmation.REFUNDED
    order.save(update_fields=["refunded_cents", "updated_at"])
    OrderStatusChange.objects.create(order=order, from_status=order.status, to_status=order.status,
                                     reason=f"{note}.")
    return RefundConfirmation.REFUNDED if confirmed == order.total_cents else RefundConfirmation.PARTIALLY_REFUNDED
