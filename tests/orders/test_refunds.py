import pytest
from django.urls import reverse

from orders.errors import RefundRefused
from orders.models import Order, OrderStatus
from orders.services.placement import order_pay_with_points
from orders.services.refunds import order_refund_points
from tests.orders.conftest import give_points
from wallet.models import LedgerEntry
from wallet.selectors import wallet_balance


@pytest.fixture
def points_order(filled_cart):
    give_points(filled_cart, 2000)
    return order_pay_with_points(user=filled_cart, idempotency_key="test:refund-me")  # 1010 points


def test_full_points_refund_returns_the_points_and_marks_refunded(points_order, staff):
    order = order_refund_points(order_id=points_order.pk, staff_user=staff, reason="Wrong picture")

    assert order.status == OrderStatus.REFUNDED and order.refunded_points == 1010
    assert wallet_balance(user=points_order.user).current == 2000
    refund = LedgerEntry.objects.get(kind="refund")
    assert (refund.amount, refund.created_by, refund.metadata["reason"]) == (1010, staff, "Wrong picture")
    assert order.status_changes.last().changed_by == staff


def test_partial_refunds_are_recorded_and_shown_as_such(points_order, staff, client):
    order_refund_points(order_id=points_order.pk, staff_user=staff, reason="One file was broken", points=280)
    order = Order.objects.get(pk=points_order.pk)

    assert order.status == OrderStatus.COMPLETED and order.is_partially_refunded
    assert wallet_balance(user=order.user).current == 2000 - 1010 + 280
    with pytest.raises(RefundRefused, match="At most 730 points"):
        order_refund_points(order_id=order.pk, staff_user=staff, reason="again", points=731)
    client.force_login(order.user)
    assert b"Partially refunded" in client.get(reverse("orders:detail", args=[order.pk])).content

    final = order_refund_points(order_id=order.pk, staff_user=staff, reason="Rest of it")
    assert final.status == OrderStatus.REFUNDED and final.refunded_points == 1010
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

    refused = staff_client.post(url, {"amount": "", "reason": ""})
    done = staff_client.post(url, {"amount": "10", "reason": "Goodwill"})

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
