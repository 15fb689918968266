"""The staff dashboard: today's figures, right and in a constant number of queries."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from checkout.models import WebhookEvent
from config.dashboard import dashboard_figures
from orders.models import Order
from orders.services.cart import cart_add
from orders.services.placement import order_pay_with_points
from tests.factories import CheckoutSessionFactory, ProductFactory, ShopperFactory

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

    # the figures' aggregates, the newest books check, the health check's SELECT 1, the session and the user
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
