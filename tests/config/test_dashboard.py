"""The staff dashboard: today's figures, right and in a constant number of queries."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from checkout.models import WebhookEvent
from config.dashboard import dashboard_figures
from orders.models import Order
from orders.services.cart import cart_add
from orders.services.placement import order_pay_with_points
from tests.disputes import dispute_event
from tests.factories import CheckoutSessionFactory, ProductFactory, ShopperFactory
from tests.stripe_events import post_event

DASHBOARD = "admin:dashboard"


def points_order(user, product, key):
    cart_add(user=user, product_id=product.pk, quantity=1)
    return order_pay_with_points(user=user, idempotency_key=key)


def some_activity(count: int):
    product = ProductFactory(price_points=100, price_cents=250)
    for number in range(count):
        shopper = ShopperFactory(points=300)
        points_order(shopper, product, f"dash-{number}-{shopper.pk}")
        Order.objects.create(user=shopper, payment_method="stripe", status="pending", total_cents=250,
                             total_points=0, idempotency_key=f"dash-card-{shopper.pk}")
        CheckoutSessionFactory(user=shopper, status="completed", completed_at=timezone.now())
        CheckoutSessionFactory(user=shopper, awaiting_stripe=True)
        WebhookEvent.objects.create(event_id=f"evt_dash_{shopper.pk}", type="checkout.session.completed",
                                    payload={}, status="failed", error="boom")


def test_the_figures_add_up(db):
    some_activity(1)  # before the day began: not in the day's sales or points
    day_began = timezone.now()
    some_activity(2)

    figures = dashboard_figures(since=day_began)

    assert (figures.points_orders, figures.points_sales, figures.points_spent) == (2, 200, 200)
    assert figures.points_credited == 600
    assert figures.package_sales == 2 and figures.package_sales_cents == 2 * 499
    assert figures.sales_cents == 2 * 499
    assert figures.orders_waiting == 3 and figures.orders_waiting_cents == 3 * 250  # waiting ones: all, not today's
    assert figures.sessions_awaiting_stripe == 3
    assert figures.sessions_by_status == {"completed": 3, "active": 3}
    assert figures.failed_webhooks == 3 and len(figures.recent_failures) == 3


@pytest.mark.parametrize("rows", [1, 12])
def test_the_page_costs_the_same_queries_however_much_there_is(staff_client, rows, django_assert_max_num_queries):
    some_activity(rows)

    with django_assert_max_num_queries(12):
        response = staff_client.get(reverse(DASHBOARD))

    assert response.status_code == 200
    assert f'id="orders-waiting">{rows}<'.encode() in response.content
    assert f'id="failed-webhooks">{rows}<'.encode() in response.content


def test_the_dashboard_is_linked_from_the_admin_index_and_staff_only(staff_client, shopper):
    index = staff_client.get(reverse("admin:index"))
    assert reverse(DASHBOARD).encode() in index.content

    as_shopper = Client()
    as_shopper.force_login(shopper)
    response = as_shopper.get(reverse(DASHBOARD))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


# --- disputes ---------------------------------------------------------------------------------------------------

def _paid_package(number: int):
    return CheckoutSessionFactory(status="completed", completed_at=timezone.now(),
                                  stripe_session_id=f"cs_dash_{number}", stripe_payment_intent_id=f"pi_dash_{number}")


def _dispute(client, session, dispute_id: str, status: str):
    event = dispute_event("closed" if status in ("won", "lost") else "created", dispute_id=dispute_id,
                          payment_intent=session.stripe_payment_intent_id, amount=session.amount_cents, status=status)
    assert post_event(client, event).json()["status"] == "processed"


def test_lost_disputes_come_off_the_net_money_and_open_ones_are_listed_by_due_date(staff_client):
    day_began = timezone.now()
    lost, still_open, won = (_paid_package(number) for number in range(3))
    _dispute(staff_client, lost, "dp_test_lost", "lost")
    _dispute(staff_client, still_open, "dp_test_open", "needs_response")
    _dispute(staff_client, won, "dp_test_won", "won")

    figures = dashboard_figures(since=day_began)

    assert figures.package_sales_cents == 3 * 499
    assert figures.lost_disputes_cents == 499
    assert figures.sales_cents == 3 * 499 - 499
    assert figures.open_disputes == 1
    assert [dispute.stripe_dispute_id for dispute in figures.open_dispute_rows] == ["dp_test_open"]
    # a dispute lost on an earlier day is not today's loss
    assert dashboard_figures(since=timezone.now()).lost_disputes_cents == 0

    page = staff_client.get(reverse(DASHBOARD)).content.decode()
    assert 'id="lost-disputes-cents" data-cents="499"' in page
    assert f'id="sales-cents" data-cents="{2 * 499}"' in page
    assert 'id="open-disputes">1<' in page and "dp_test_open" in page and "2030-03-17" in page
    assert "dp_test_won" not in page and "dp_test_lost" not in page


@pytest.mark.parametrize("rows", [1, 12])
def test_open_disputes_cost_the_dashboard_no_query_per_row(staff_client, rows, django_assert_max_num_queries):
    for number in range(rows):
        _dispute(staff_client, _paid_package(number), f"dp_test_{number}", "needs_response")

    with django_assert_max_num_queries(12):
        response = staff_client.get(reverse(DASHBOARD))

    assert response.content.decode().count('class="open-dispute"') == rows
def test_refunds_the_shop_made_on_its_own_and_webhooks_needing_attention_are_counted(db, staff):
    from checkout.models import Refund

    session = CheckoutSessionFactory(status="completed", completed_at=timezone.now(), stripe_payment_intent_id="pi_1")
    day_began = timezone.now()

    def refund(key, **fields):
        return Refund.objects.create(session=session, amount_cents=100, currency="usd", idempotency_key=key,
                                     reason="test", **fields)

    refund("yesterday", created_at=day_began - timedelta(hours=1))
    refund("by-the-shop")
    refund("by-staff", requested_by=staff)
    for status in ("attention", "attention", "failed", "ignored"):
        WebhookEvent.objects.create(event_id=f"evt_{status}_{WebhookEvent.objects.count()}", type="t", payload={},
                                    status=status)

    figures = dashboard_figures(since=day_began)

    assert (figures.refunds_by_the_shop, figures.refunds_by_the_shop_cents) == (1, 100)
    assert (figures.webhooks_needing_attention, figures.failed_webhooks) == (2, 1)
