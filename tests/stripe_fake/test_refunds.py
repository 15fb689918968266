"""The fake Stripe's refunds: pending first, then settled right after commit (succeeded, or failed when the
payment's refunds are set to fail), with the events Stripe sends, shaped like Stripe's own refund object; and the
demo page's buttons that fail, cancel or settle a refund, or refund as if in Stripe's Dashboard."""

import pytest
from django.urls import reverse

from checkout import gateway
from checkout.models import CheckoutSession, Refund, WebhookEvent
from orders.models import OrderStatus
from orders.services.refunds import order_refund_stripe
from stripe_fake import refunds
from stripe_fake.models import FakeStripeObject
from tests.factories import paid_card_order
from tests.stripe_examples import stripe_example

CREATED = [("refund.created", 200), ("charge.refunded", 200)]
SUCCEEDED = [("refund.updated", 200), ("charge.refund.updated", 200)]
FAILED = [*SUCCEEDED, ("refund.failed", 200)]


@pytest.fixture
def card_order(shopper):
    return paid_card_order(user=shopper)


def _stripe(object_id: str) -> dict:
    return FakeStripeObject.objects.get(pk=object_id).data


def _charge(order) -> dict:
    return _stripe(_stripe(order.stripe_payment_intent_id)["latest_charge"])


def _event_types() -> list[str]:
    return list(FakeStripeObject.objects.filter(kind="event").order_by("created_at")
                .values_list("data__type", flat=True))


def test_a_refund_is_pending_until_its_creation_commits_then_succeeds(card_order, held_webhooks,
                                                                     django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        answer = gateway.refund_create(payment_intent_id=card_order.stripe_payment_intent_id,
                                       idempotency_key="k1", amount_cents=1000)

        assert answer.status == "pending" and _stripe(answer.id)["status"] == "pending"
        assert _charge(card_order)["amount_refunded"] == 1000

    assert _stripe(answer.id)["status"] == "succeeded"
    assert [event["type"] for event in held_webhooks] == [
        "refund.created", "charge.refunded", "refund.updated", "charge.refund.updated"]


def test_refund_objects_carry_the_fields_of_stripes_example_with_the_same_types(card_order):
    answer = gateway.refund_create(payment_intent_id=card_order.stripe_payment_intent_id, idempotency_key="k1")
    refunds.refund_settle(answer.id, "failed")
    example, ours = stripe_example("refund"), _stripe(answer.id)

    assert set(example) <= set(ours)
    for name, value in example.items():
        if value is not None and ours[name] is not None:
            assert type(ours[name]) is type(value), name
    assert ours["destination_details"]["type"] == "card" and ours["object"] == "refund"
    assert (ours["status"], ours["failure_reason"]) == ("failed", "expired_or_canceled_card")
    updated = [event for event in FakeStripeObject.objects.filter(kind="event", data__type="refund.failed")]
    assert updated[0].data["data"]["object"]["id"] == answer.id


@pytest.mark.parametrize("outcome, status, amount_refunded", [
    ("succeeded", "succeeded", 3999),
    ("failed", "failed", 0),
    ("pending", "pending", 3999),
])
def test_the_refund_outcome_of_a_payment_decides_how_its_refunds_settle(
        card_order, outcome, status, amount_refunded, held_webhooks, django_capture_on_commit_callbacks):
    refunds.refund_outcome_set(card_order.stripe_payment_intent_id, outcome)

    with django_capture_on_commit_callbacks(execute=True):
        answer = gateway.refund_create(payment_intent_id=card_order.stripe_payment_intent_id, idempotency_key="k1")

    assert _stripe(answer.id)["status"] == status
    assert _charge(card_order)["amount_refunded"] == amount_refunded


@pytest.mark.parametrize("start, outcome, allowed", [
    ("pending", "succeeded", True), ("pending", "canceled", True), ("pending", "failed", True),
    ("succeeded", "failed", True), ("succeeded", "canceled", False), ("failed", "succeeded", False),
    ("canceled", "failed", False),
])
def test_refunds_settle_only_forward(card_order, start, outcome, allowed):
    refund_id = gateway.refund_create(payment_intent_id=card_order.stripe_payment_intent_id,
                                      idempotency_key="k1").id
    if start != "pending":
        refunds.refund_settle(refund_id, start)
    events_before = len(_event_types())

    if allowed:
        refunds.refund_settle(refund_id, outcome)
    else:
        with pytest.raises(refunds.RefundNotSettleable):
            refunds.refund_settle(refund_id, outcome)

    assert _stripe(refund_id)["status"] == (outcome if allowed else start)
    assert len(_event_types()) - events_before == ((3 if outcome == "failed" else 2) if allowed else 0)


def test_in_demo_mode_a_failing_refund_reaches_the_shop_and_is_undone(
        card_order, staff, webhooks, django_capture_on_commit_callbacks):
    refunds.refund_outcome_set(card_order.stripe_payment_intent_id, "failed")

    with django_capture_on_commit_callbacks(execute=True):
        order_refund_stripe(order_id=card_order.pk, staff_user=staff, reason="Wrong picture")

    assert webhooks == CREATED + FAILED
    assert Refund.objects.get().status == "failed"
    card_order.refresh_from_db()
    assert (card_order.status, card_order.refunded_cents) == (OrderStatus.COMPLETED, 0)
    # the same card can be refunded again once it no longer fails
    refunds.refund_outcome_set(card_order.stripe_payment_intent_id, "succeeded")
    with django_capture_on_commit_callbacks(execute=True):
        order_refund_stripe(order_id=card_order.pk, staff_user=staff, reason="Wrong picture")
    card_order.refresh_from_db()
    assert (card_order.status, card_order.refunded_cents) == (OrderStatus.REFUNDED, 3999)


# --- the demo page ------------------------------------------------------------------------------------------

def _page(order) -> str:
    return reverse("stripe_fake:hosted", args=[CheckoutSession.objects.get(pk=order.checkout_session_id)
                                               .stripe_session_id])


def test_the_demo_page_lists_the_refunds_and_fails_one_after_it_succeeded(
        card_order, staff, client, webhooks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order_refund_stripe(order_id=card_order.pk, staff_user=staff, reason="Wrong picture")
    refund = Refund.objects.get()
    page = client.get(_page(card_order))
    assert page.status_code == 200 and refund.stripe_refund_id.encode() in page.content
    assert b"fail this refund (the bank returned it)" in page.content

    with django_capture_on_commit_callbacks(execute=True):
        failed = client.post(_page(card_order), {"action": "refund", "refund": refund.stripe_refund_id,
                                                 "outcome": "failed"})

    assert failed.status_code == 302 and "done=refund" in failed["Location"]
    assert webhooks[-3:] == FAILED
    refund.refresh_from_db()
    assert refund.status == "failed"
    card_order.refresh_from_db()
    assert (card_order.status, card_order.refunded_cents) == (OrderStatus.COMPLETED, 0)
    again = client.post(_page(card_order), {"action": "refund", "refund": refund.stripe_refund_id,
                                            "outcome": "succeeded"})
    assert again.status_code == 409 and b"cannot become succeeded" in again.content


def test_the_demo_page_refunds_as_if_in_stripes_dashboard(card_order, client, webhooks,
                                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(_page(card_order), {"action": "dashboard_refund", "amount": "1000"})

    assert done.status_code == 302
    [refund] = Refund.objects.all()
    assert (refund.origin, refund.amount_cents, refund.status, refund.requested_by) == (
        "stripe", 1000, "succeeded", None)
    card_order.refresh_from_db()
    assert card_order.refunded_cents == 1000
    assert {event.type for event in WebhookEvent.objects.all()} == {
        "refund.created", "charge.refunded", "refund.updated", "charge.refund.updated"}


@pytest.mark.parametrize("form, message", [
    ({"action": "refund", "refund": "re_test_unknown", "outcome": "failed"}, b"No such refund"),
    ({"action": "refund_outcome", "outcome": "maybe"}, b"unknown refund outcome"),
    ({"action": "dashboard_refund", "amount": "999999"}, b"greater than unrefunded amount"),
])
def test_bad_refund_actions_on_the_demo_page_change_nothing(card_order, client, form, message):
    response = client.post(_page(card_order), form)

    assert response.status_code == 409 and message in response.content
    assert not FakeStripeObject.objects.filter(kind="refund").exists()


def test_the_refund_buttons_are_demo_only(card_order, client, settings):
    settings.STRIPE_MODE = "stripe"

    assert client.post(_page(card_order), {"action": "dashboard_refund"}).status_code == 404
    assert not FakeStripeObject.objects.filter(kind="refund").exists()
