import random
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from checkout import gateway
from checkout.models import Refund, WebhookEvent
from checkout.services.refunds import refunds_submit_unsent
from orders.errors import RefundRefused
from orders.models import Order, OrderStatus, OrderStatusChange
from orders.services.placement import order_pay_with_points
from orders.services.refunds import order_refund_points, order_refund_stripe
from stripe_fake.events import public
from stripe_fake.models import FakeStripeObject
from stripe_fake.refunds import refund_settle
from tests.factories import give_points, paid_card_order
from tests.single_use import form_token
from tests.stripe_events import post_event
from wallet.models import LedgerEntry
from wallet.selectors import wallet_balance


@pytest.fixture
def points_order(filled_cart):
    give_points(filled_cart, 2000)
    return order_pay_with_points(user=filled_cart, idempotency_key="test:refund-me")  # 730 points


def test_full_points_refund_returns_the_points_and_marks_refunded(points_order, staff):
    order = order_refund_points(order_id=points_order.pk, staff_user=staff, reason="Wrong picture")

    assert order.status == OrderStatus.REFUNDED and order.refunded_points == 730
    assert wallet_balance(user=points_order.user).current == 2000
    refund = LedgerEntry.objects.get(kind="refund")
    assert (refund.amount, refund.created_by, refund.metadata["reason"]) == (730, staff, "Wrong picture")
    assert order.status_changes.last().changed_by == staff


def test_partial_refunds_are_recorded_and_shown_as_such(points_order, staff, client):
    order_refund_points(order_id=points_order.pk, staff_user=staff, reason="One file was broken", points=280)
    order = Order.objects.get(pk=points_order.pk)

    assert order.status == OrderStatus.COMPLETED and order.is_partially_refunded
    assert wallet_balance(user=order.user).current == 2000 - 730 + 280
    with pytest.raises(RefundRefused, match="At most 450 points"):
        order_refund_points(order_id=order.pk, staff_user=staff, reason="again", points=451)
    client.force_login(order.user)
    assert b"Partially refunded" in client.get(reverse("orders:detail", args=[order.pk])).content

    final = order_refund_points(order_id=order.pk, staff_user=staff, reason="Rest of it")
    assert final.status == OrderStatus.REFUNDED and final.refunded_points == 730
    assert LedgerEntry.objects.filter(kind="refund").count() == 2


@pytest.mark.parametrize("kwargs, message", [
    ({"reason": "  "}, "Say why"),
    ({"reason": "x", "points": 0}, "above zero"),
    ({"reason": "x", "points": "5"}, "whole number"),
])
def test_bad_refund_requests_change_nothing(points_order, staff, kwargs, message):
    with pytest.raises(RefundRefused, match=message):
        order_refund_points(order_id=points_order.pk, staff_user=staff, **kwargs)
    assert not LedgerEntry.objects.filter(kind="refund").exists()


def test_a_refunded_order_cannot_be_refunded_again(points_order, staff):
    order_refund_points(order_id=points_order.pk, staff_user=staff, reason="Wrong picture")

    with pytest.raises(RefundRefused, match="Only completed orders"):
        order_refund_points(order_id=points_order.pk, staff_user=staff, reason="Wrong picture")
    assert LedgerEntry.objects.filter(kind="refund").count() == 1


def test_staff_refund_through_the_admin(points_order, staff_client):
    url = reverse("admin:orders_order_refund", args=[points_order.pk])

    once = form_token(staff_client, url)
    refused = staff_client.post(url, {"amount": "", "reason": "", "once": once})
    done = staff_client.post(url, {"amount": "10", "reason": "Goodwill", "once": once})

    assert refused.status_code == 200 and b"This field is required" in refused.content
    assert done.status_code == 302
    assert Order.objects.get(pk=points_order.pk).refunded_points == 10


def test_orders_admin_lists_searches_and_filters(points_order, staff_client, django_assert_max_num_queries):
    url = reverse("admin:orders_order_changelist")

    with django_assert_max_num_queries(12):
        assert staff_client.get(url, {"status__exact": "completed", "payment_method__exact": "points"}).status_code == 200
    found = staff_client.get(url, {"q": points_order.user.email})
    page = staff_client.get(reverse("admin:orders_order_change", args=[points_order.pk]))

    assert points_order.short_id.encode() in found.content
    assert b"Status history" in page.content and b"Harbour Lights" in page.content


# --- card orders: refunded through Stripe, marked refunded when charge.refunded confirms it ------------------

@pytest.fixture
def card_order(shopper):
    """A completed card order of $39.99 whose payment the fake Stripe received."""
    return paid_card_order(user=shopper)


def _charge(order) -> dict:
    intent = FakeStripeObject.objects.get(pk=order.stripe_payment_intent_id).data
    return FakeStripeObject.objects.get(pk=intent["latest_charge"]).data


def _stripe_refunds() -> list[dict]:
    return [row.data for row in FakeStripeObject.objects.filter(kind="refund").order_by("created_at")]


def _sent(event_type: str) -> list[dict]:
    """The events the fake Stripe sent (without on-commit delivery in these tests, none reached us yet)."""
    rows = FakeStripeObject.objects.filter(kind="event", data__type=event_type).order_by("created_at")
    return [public(row.data) for row in rows]


def _history(order, text: str) -> list[str]:
    return list(order.status_changes.filter(reason__contains=text).values_list("reason", flat=True))


REFUND_EVENTS = [("refund.created", 200), ("charge.refunded", 200), ("refund.updated", 200),
                 ("charge.refund.updated", 200)]


def _refund_unanswered(order, staff, *, cents=None, reason="Broken file", fake_stripe):
    """A refund Stripe made but whose answers never reached the shop: only Stripe's events can tell it now."""
    fake_stripe.fail("lost_response", method="post", path="/v1/refunds", times=10)
    order_refund_stripe(order_id=order.pk, staff_user=staff, reason=reason, cents=cents)
    fake_stripe.reset()


def test_a_full_card_refund_is_accepted_then_succeeds_through_stripes_events(
        card_order, staff, webhooks, django_capture_on_commit_callbacks):
    # when: staff refund the whole order
    with django_capture_on_commit_callbacks(execute=True):
        requested = order_refund_stripe(order_id=card_order.pk, staff_user=staff, reason="Wrong picture")

        # then: Stripe accepted it (pending), the order counts it, and its history says who asked and why
        assert requested.status == OrderStatus.COMPLETED and requested.refunded_cents == 0  # as it was asked
        [refund] = _stripe_refunds()
        assert (refund["amount"], refund["payment_intent"], refund["status"]) == (
            3999, card_order.stripe_payment_intent_id, "pending")
        [record] = Refund.objects.filter(session=card_order.checkout_session)
        assert (record.stripe_refund_id, record.amount_cents, record.requested_by, record.status) == (
            refund["id"], 3999, staff, "pending")
        [entry] = OrderStatusChange.objects.filter(order=card_order, reason__startswith="Refund of")
        assert entry.reason == "Refund of $39.99 requested by staff: Wrong picture"
        assert entry.changed_by == staff and entry.to_status == "completed"
        order = Order.objects.get(pk=card_order.pk)
        assert (order.status, order.refunded_cents) == (OrderStatus.REFUNDED, 3999)
        assert order.status_changes.last().reason == (
            "Stripe accepted a refund of $39.99: $39.99 of $39.99 refunded, all of it.")

    # and: after commit the fake Stripe settles it and its signed events confirm what the shop has
    assert webhooks == REFUND_EVENTS
    record.refresh_from_db()
    assert record.status == "succeeded"
    assert list(record.status_changes.values_list("to_status", flat=True)) == ["requested", "pending", "succeeded"]
    order = Order.objects.get(pk=card_order.pk)
    assert (order.status, order.refunded_cents) == (OrderStatus.REFUNDED, 3999)
    assert order.status_changes.filter(to_status="refunded").count() == 1
    assert WebhookEvent.objects.get(type="refund.updated").error == "refund succeeded: order refund already recorded"
    assert _charge(order)["amount_refunded"] == 3999


def test_partial_card_refunds_are_shown_as_such_until_the_rest_is_refunded(
        card_order, staff, client, webhooks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order_refund_stripe(order_id=card_order.pk, staff_user=staff, reason="One file was broken", cents=1000)

    order = Order.objects.get(pk=card_order.pk)
    assert (order.status, order.refunded_cents, order.is_partially_refunded) == (OrderStatus.COMPLETED, 1000, True)
    assert _history(order, "Stripe accepted") == ["Stripe accepted a refund of $10.00: $10.00 of $39.99 refunded."]
    client.force_login(order.user)
    assert b"Partially refunded" in client.get(reverse("orders:detail", args=[order.pk])).content
    with pytest.raises(RefundRefused, match=r"At most \$29.99 \(2999 cents\)"):
        order_refund_stripe(order_id=order.pk, staff_user=staff, reason="too much", cents=3000)

    with django_capture_on_commit_callbacks(execute=True):
        order_refund_stripe(order_id=order.pk, staff_user=staff, reason="The rest")

    order.refresh_from_db()
    assert (order.status, order.refunded_cents) == (OrderStatus.REFUNDED, 3999)
    assert [(refund["amount"], refund["status"]) for refund in _stripe_refunds()] == [
        (1000, "succeeded"), (2999, "succeeded")]
    assert webhooks == REFUND_EVENTS * 2


def test_refund_events_replayed_and_shuffled_record_each_refund_once(card_order, staff, client, fake_stripe):
    # given: two partial refunds whose answers were lost, settled at Stripe; Stripe sends their events many
    # times, in any order
    _refund_unanswered(card_order, staff, cents=1000, reason="First", fake_stripe=fake_stripe)
    _refund_unanswered(card_order, staff, cents=2999, reason="Second", fake_stripe=fake_stripe)
    assert list(Refund.objects.values_list("status", flat=True)) == ["requested", "requested"]
    for refund in _stripe_refunds():
        refund_settle(refund["id"], "succeeded")
    events = [*_sent("charge.refunded"), *_sent("refund.created"), *_sent("refund.updated"),
              *_sent("charge.refund.updated")]
    assert [event["data"]["object"]["amount_refunded"] for event in _sent("charge.refunded")] == [1000, 3999]
    deliveries = events * 3
    random.Random(5).shuffle(deliveries)

    # when
    statuses = {post_event(client, event).status_code for event in deliveries}

    # then: both refunds are known by their Stripe ids and succeeded, the order refunded once
    assert statuses == {200}
    assert sorted(Refund.objects.values_list("status", "amount_cents")) == [("succeeded", 1000),
                                                                            ("succeeded", 2999)]
    assert set(Refund.objects.values_list("stripe_refund_id", flat=True)) == {r["id"] for r in _stripe_refunds()}
    assert not Refund.objects.filter(origin="stripe").exists()
    order = Order.objects.get(pk=card_order.pk)
    assert (order.status, order.refunded_cents) == (OrderStatus.REFUNDED, 3999)
    assert order.status_changes.filter(to_status="refunded").count() == 1
    assert WebhookEvent.objects.count() == len(events)


@pytest.mark.parametrize("seed", [1, 2])
def test_charge_refunded_in_both_orders_ends_the_same(card_order, staff, client, fake_stripe, seed):
    _refund_unanswered(card_order, staff, cents=1000, reason="First", fake_stripe=fake_stripe)
    _refund_unanswered(card_order, staff, cents=2999, reason="Second", fake_stripe=fake_stripe)
    events = _sent("charge.refunded")
    ordered = events if seed == 1 else events[::-1]

    for event in ordered * 2:
        assert post_event(client, event).status_code == 200

    order = Order.objects.get(pk=card_order.pk)
    assert (order.status, order.refunded_cents) == (OrderStatus.REFUNDED, 3999)
    assert order.status_changes.filter(to_status="refunded").count() == 1
    assert list(Refund.objects.values_list("status", flat=True)) == ["pending", "pending"]


def test_an_older_charge_refunded_after_a_newer_one_changes_nothing(card_order, staff, client, fake_stripe):
    _refund_unanswered(card_order, staff, cents=1000, reason="First", fake_stripe=fake_stripe)
    _refund_unanswered(card_order, staff, cents=500, reason="Second", fake_stripe=fake_stripe)
    older, newer = _sent("charge.refunded")

    post_event(client, newer)
    post_event(client, older)

    order = Order.objects.get(pk=card_order.pk)
    assert (order.status, order.refunded_cents) == (OrderStatus.COMPLETED, 1500)
    assert _history(order, "Stripe accepted") == ["Stripe accepted a refund of $10.00: $10.00 of $39.99 refunded.",
                                                  "Stripe accepted a refund of $5.00: $15.00 of $39.99 refunded."]
    assert WebhookEvent.objects.get(event_id=older["id"]).error == "refund already recorded"


def test_a_repeated_click_before_stripe_confirms_refunds_once(card_order, staff):
    first = order_refund_stripe(order_id=card_order.pk, staff_user=staff, reason="Broken file", cents=500)
    again = order_refund_stripe(order_id=card_order.pk, staff_user=staff, reason="Broken file", cents=500)

    assert first.pk == again.pk
    assert len(_stripe_refunds()) == 1 and _charge(card_order)["amount_refunded"] == 500
    assert len(_history(card_order, "requested by staff")) == 1
    assert len(_sent("charge.refunded")) == 1


def test_a_lost_answer_from_stripe_is_retried_with_the_same_key_and_refunds_once(card_order, staff, fake_stripe):
    fake_stripe.fail("lost_response", method="post", path="/v1/refunds")

    order_refund_stripe(order_id=card_order.pk, staff_user=staff, reason="Broken file")

    assert [refund["amount"] for refund in _stripe_refunds()] == [3999]
    assert [method for method, path in fake_stripe.requests_seen if path == "/v1/refunds"] == ["post", "post"]
    assert len(_history(card_order, "requested by staff")) == 1


@pytest.mark.parametrize("fault", ["server_error", "connection"])
def test_stripe_unreachable_keeps_the_refund_for_beat_to_send(card_order, staff, fake_stripe, fault):
    fake_stripe.fail(fault, path="/v1/refunds", times=10)

    order_refund_stripe(order_id=card_order.pk, staff_user=staff, reason="Broken file")

    # then: recorded and in the order's history, not at Stripe yet
    [record] = Refund.objects.filter(session=card_order.checkout_session)
    assert (record.status, record.amount_cents) == ("requested", 3999) and not _stripe_refunds()
    assert len(_history(card_order, "requested by staff")) == 1

    fake_stripe.reset()
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        refunds_submit_unsent()

    record.refresh_from_db()
    assert record.status == "pending" and [refund["id"] for refund in _stripe_refunds()] == [
        record.stripe_refund_id]


def test_stripe_refusing_fails_the_refund_and_says_so_in_the_history(card_order, staff):
    gateway.refund_create(payment_intent_id=card_order.stripe_payment_intent_id, idempotency_key="dashboard")

    with pytest.raises(RefundRefused, match="Stripe refused the refund: .*already been refunded"):
        order_refund_stripe(order_id=card_order.pk, staff_user=staff, reason="Broken file")

    order = Order.objects.get(pk=card_order.pk)
    assert (order.status, order.refunded_cents) == (OrderStatus.COMPLETED, 0)
    assert Refund.objects.get(session=card_order.checkout_session).status == "failed"
    assert len(_history(order, "Stripe refused the refund of $39.99")) == 1


def test_asking_for_more_than_is_left_counts_the_unconfirmed_refunds(card_order, staff):
    order_refund_stripe(order_id=card_order.pk, staff_user=staff, reason="First", cents=1000)

    with pytest.raises(RefundRefused, match=r"At most \$29.99"):
        order_refund_stripe(order_id=card_order.pk, staff_user=staff, reason="Everything", cents=3999)

    assert [refund["amount"] for refund in _stripe_refunds()] == [1000]
    assert len(_history(card_order, "requested by staff")) == 1


@pytest.mark.parametrize("kwargs, message", [
    ({"reason": ""}, "Say why"),
    ({"reason": "x", "cents": 0}, "above zero"),
    ({"reason": "x", "cents": "500"}, "whole number"),
    ({"reason": "x", "cents": 4000}, r"At most \$39.99"),
])
def test_bad_card_refund_requests_change_nothing(card_order, staff, kwargs, message):
    with pytest.raises(RefundRefused, match=message):
        order_refund_stripe(order_id=card_order.pk, staff_user=staff, **kwargs)

    assert not _stripe_refunds() and not _history(card_order, "Refund of")


@pytest.mark.parametrize("changes, message", [
    ({"payment_method": "points"}, "paid with points"),
    ({"status": "pending"}, "Only completed orders"),
    ({"status": "refunded"}, "Only completed orders"),
    ({"stripe_payment_intent_id": ""}, "not known"),
])
def test_only_completed_card_orders_with_a_payment_are_refunded_through_stripe(card_order, staff, changes, message):
    Order.objects.filter(pk=card_order.pk).update(**changes)

    with pytest.raises(RefundRefused, match=message):
        order_refund_stripe(order_id=card_order.pk, staff_user=staff, reason="x")

    assert not _stripe_refunds()


def test_points_orders_are_not_refunded_through_stripe_and_card_orders_not_in_points(points_order, card_order, staff):
    with pytest.raises(RefundRefused, match="paid with points"):
        order_refund_stripe(order_id=points_order.pk, staff_user=staff, reason="x")
    with pytest.raises(RefundRefused, match="paid by card"):
        order_refund_points(order_id=card_order.pk, staff_user=staff, reason="x")


def test_charge_refunded_marks_an_unfulfilled_order_refunded(card_order, client):
    # given: an order paid after its reservation ended and cancelled (sold out), whose payment Stripe then refunds
    Order.objects.filter(pk=card_order.pk).update(status=OrderStatus.CANCELLED)
    gateway.refund_create(payment_intent_id=card_order.stripe_payment_intent_id, idempotency_key="unfulfillable")

    assert post_event(client, _sent("charge.refunded")[0]).json()["status"] == "processed"

    order = Order.objects.get(pk=card_order.pk)
    assert (order.status, order.refunded_cents) == (OrderStatus.REFUNDED, 3999)
    assert order.status_changes.filter(from_status="cancelled", to_status="refunded").count() == 1


def test_staff_refund_a_card_order_through_the_admin(card_order, staff_client, webhooks,
                                                     django_capture_on_commit_callbacks):
    url = reverse("admin:orders_order_refund", args=[card_order.pk])

    page = staff_client.get(url)
    once = page.context["form"].initial["once"]
    too_much = staff_client.post(url, {"amount": "50.00", "reason": "Goodwill", "once": once})
    with django_capture_on_commit_callbacks(execute=True):
        done = staff_client.post(url, {"amount": "10", "reason": "Goodwill", "once": once}, follow=True)

    assert page.status_code == 200 and b"$39.99" in page.content and b"not available yet" not in page.content
    assert too_much.status_code == 200 and b"At most $39.99" in too_much.content
    assert b"requested from Stripe" in done.content
    order = Order.objects.get(pk=card_order.pk)
    assert (order.status, order.refunded_cents) == (OrderStatus.COMPLETED, 1000)
    assert _history(order, "requested by staff")[0].endswith(": Goodwill")


def test_a_card_order_paid_in_the_shop_is_refunded_end_to_end(client, shopper, staff, filled_cart, webhooks,
                                                              django_capture_on_commit_callbacks):
    # given: the shopper paid their cart by card on the demo Stripe page
    client.force_login(shopper)
    client.post(reverse("orders:pay_by_card"), {"checkout_token": "7d7c3bb4-63c4-4a43-9d3e-0a6c3e1f5a10"})
    order = Order.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(order.checkout_session.stripe_checkout_url, {"action": "pay"})
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED and order.stripe_payment_intent_id

    # when: staff refund it from the admin
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        url = reverse("admin:orders_order_refund", args=[order.pk])
        response = client.post(url, {"amount": "", "reason": "The shopper asked", "once": form_token(client, url)})

    # then: refund request -> accepted (refunded) -> Stripe's signed events settle it, as in production
    assert response.status_code == 302
    assert webhooks == [("checkout.session.completed", 200), *REFUND_EVENTS]
    order.refresh_from_db()
    assert (order.status, order.refunded_cents) == (OrderStatus.REFUNDED, order.total_cents)
    assert [change.to_status for change in order.status_changes.all()] == [
        "pending", "completed", "completed", "refunded"]
    client.force_login(shopper)
    assert b"This order was refunded" in client.get(reverse("orders:detail", args=[order.pk])).content
