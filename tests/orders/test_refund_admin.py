"""The admin's order refund form: single-use (Back and submit again refunds nothing more, and says so), amounts
typed as money for card orders ("19.99") and as points for points orders, not offered on a disputed order."""

import pytest
from django.urls import reverse

from checkout.models import Refund
from orders.models import Order, OrderStatusChange
from orders.services.placement import order_pay_with_points
from tests.factories import give_points, paid_card_order
from tests.single_use import form_token
from wallet.models import LedgerEntry


@pytest.fixture
def points_order(filled_cart):
    give_points(filled_cart, 2000)
    return order_pay_with_points(user=filled_cart, idempotency_key="test:refund-admin")  # 1010 points


def refund_url(order) -> str:
    return reverse("admin:orders_order_refund", args=[order.pk])


def test_a_points_refund_form_submitted_twice_refunds_once_and_says_so(points_order, staff_client):
    data = {"amount": "100", "reason": "Broken file", "once": form_token(staff_client, refund_url(points_order))}

    first = staff_client.post(refund_url(points_order), data)
    again = staff_client.post(refund_url(points_order), data)

    assert first.status_code == 302
    assert again.status_code == 200 and "This form was already submitted" in again.content.decode()
    assert Order.objects.get(pk=points_order.pk).refunded_points == 100
    assert LedgerEntry.objects.filter(kind="refund").count() == 1


def test_a_card_refund_is_typed_as_money_and_the_form_is_single_use(shopper, staff_client, webhooks,
                                                                    django_capture_on_commit_callbacks):
    order = paid_card_order(user=shopper)  # $39.99
    page = staff_client.get(refund_url(order))
    data = {"amount": "19.99", "reason": "Late delivery", "once": page.context["form"].initial["once"]}

    with django_capture_on_commit_callbacks(execute=True):
        first = staff_client.post(refund_url(order), data)
        again = staff_client.post(refund_url(order), data)

    assert 'inputmode="decimal"' in page.content.decode() and "e.g. 19.99" in page.content.decode()
    assert first.status_code == 302
    assert again.status_code == 200 and "nothing was done a second time" in again.content.decode()
    assert list(Refund.objects.values_list("amount_cents", flat=True)) == [1999]
    assert Order.objects.get(pk=order.pk).refunded_cents == 1999


@pytest.mark.parametrize("typed, error", [
    ("1999.5.0", "Enter an amount of money such as 19.99"),
    ("19.999", "Enter at most two decimals"),
    ("0", "Enter an amount above zero."),
    ("-5", "Enter an amount above zero."),
    ("€5", "is another currency"),
    ("50.00", "At most $39.99"),
])
def test_a_card_refund_amount_that_is_not_money_is_explained_and_refunds_nothing(shopper, staff_client, typed,
                                                                                 error):
    order = paid_card_order(user=shopper)
    once = form_token(staff_client, refund_url(order))

    response = staff_client.post(refund_url(order), {"amount": typed, "reason": "x", "once": once})

    assert response.status_code == 200 and error in response.content.decode()
    assert not Refund.objects.exists()
    # The refusal did not use the form up: corrected, it goes through.
    corrected = staff_client.post(refund_url(order), {"amount": "$1.50", "reason": "x", "once": once})
    assert corrected.status_code == 302 and Refund.objects.get().amount_cents == 150


@pytest.mark.parametrize("dispute_status, state", [("open", "is open"), ("lost", "is lost")])
def test_a_disputed_order_offers_no_refund_form_and_says_why(shopper, staff_client, dispute_status, state):
    order = paid_card_order(user=shopper)
    Order.objects.filter(pk=order.pk).update(dispute_status=dispute_status)

    change = staff_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    page = staff_client.get(refund_url(order)).content.decode()

    assert f"the dispute {state}" in change and refund_url(order) not in change
    assert f"the dispute {state}" in page and 'id="refund-unavailable"' in page and "<form" not in page.split(
        'id="content"')[-1].split("Recent history")[0]


def test_history_rows_that_change_nothing_say_still_not_completed_to_completed(points_order, staff_client):
    OrderStatusChange.objects.create(order=points_order, from_status="completed", to_status="completed",
                                     reason="Dispute opened")

    page = staff_client.get(reverse("admin:orders_order_change", args=[points_order.pk])).content.decode()

    assert "still completed" in page and "pending payment → completed" in page
    assert "completed → completed" not in page
