"""The staff dashboard: today's figures, right and in a constant number of queries."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from checkout.models import Refund, WebhookEvent
from config.dashboard import dashboard_figures
from orders.models import Order
from orders.services.cart import cart_add
from orders.services.placement import order_pay_with_points
from tests.disputes import dispute_event
from tests.factories import CheckoutSessionFactory, OrderFactory, ProductFactory, ShopperFactory
from tests.stripe_events import post_event
from wallet.models import RefundShortfall

DASHBOARD = "admin:dashboard"


def points_order(user, product, key):
    cart_add(user=user, product_id=product.pk)
    return order_pay_with_points(user=user, idempotency_key=key)


def some_activity(count: int):
    product = ProductFactory(price_points=100, price_cents=250)
    for number in range(count):
        shopper = ShopperFactory(points=300)
        points_order(shopper, product, f"dash-{number}-{shopper.pk}")
        Order.objects.create(user=shopper, payment_method="stripe", status="pending", total_cents=250,
                             total_points=0, idempotency_key=f"dash-card-{shopper.pk}")
        paid = CheckoutSessionFactory(user=shopper, status="completed", completed_at=timezone.now())
        CheckoutSessionFactory(user=shopper, awaiting_stripe=True)
        WebhookEvent.objects.create(event_id=f"evt_dash_{shopper.pk}", type="checkout.session.completed",
                                    payload={}, status="failed", error="boom")
        failed = _refund(paid, 100, "failed", key=f"dash-refund-{shopper.pk}")
        RefundShortfall.objects.create(refund=failed, purchase=paid.points_purchase, points=10)


def _refund(session, cents: int, status: str, *, key: str, when=None) -> Refund:
    """A refund row as the refund services leave it in ``status`` (the dashboard only reads them)."""
    when = when or timezone.now()
    return Refund.objects.create(session=session, amount_cents=cents, currency="usd", idempotency_key=key,
                                 status=status, reason="test", attempts=1, created_at=when, updated_at=when)


def test_the_figures_add_up(db):
    some_activity(1)  # before the day began: not in the day's sales or points
    day_began = timezone.now()
    some_activity(2)

    figures = dashboard_figures(since=day_began)

    assert (figures.points_orders, figures.points_sales, figures.points_spent) == (2, 200, 200)
    assert figures.points_credited == 600
    assert figures.package_sales == 2 and figures.package_sales_cents == 2 * 499
    assert figures.sales_cents == 2 * 499  # the failed refunds are not counted
    assert (figures.undone_refunds, len(figures.recent_undone_refunds)) == (3, 3)
    assert (figures.open_shortfalls, figures.open_shortfall_points) == (3, 30)
    assert figures.orders_waiting == 3 and figures.orders_waiting_cents == 3 * 250  # waiting ones: all, not today's
    assert figures.sessions_awaiting_stripe == 3
    assert figures.sessions_by_status == {"completed": 2, "active": 2}  # started today
    assert figures.failed_webhooks == 3 and len(figures.recent_failures) == 3


@pytest.mark.parametrize("rows", [1, 12])
def test_the_page_costs_the_same_queries_however_much_there_is(staff_client, rows, django_assert_max_num_queries):
    some_activity(rows)

    # a bounded number of aggregates (failed refunds are counted with one query more past the ten listed), the
    # health check's SELECT 1, the session and the user
    with django_assert_max_num_queries(18):
        response = staff_client.get(reverse(DASHBOARD))

    assert response.status_code == 200
    assert f'id="orders-waiting">{rows}<'.encode() in response.content
    assert f'id="failed-webhooks">{rows}<'.encode() in response.content
    assert f'id="undone-refunds">{rows}<'.encode() in response.content
    assert f'id="open-shortfalls">{rows}<'.encode() in response.content


def test_the_dashboard_is_linked_from_the_admin_index_and_staff_only(staff_client, shopper):
    index = staff_client.get(reverse("admin:index"))
    assert reverse(DASHBOARD).encode() in index.content

    as_shopper = Client()
    as_shopper.force_login(shopper)
    response = as_shopper.get(reverse(DASHBOARD))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_net_money_is_sales_less_every_kind_of_refund_counted_while_pending_or_succeeded(db, staff_client):
    day_began = timezone.now()
    yesterday = day_began - timedelta(days=1)
    bought_yesterday = OrderFactory(total_cents=3999, checkout_session=CheckoutSessionFactory(
        kind="cart", package=None, title="Order", amount_cents=3999, currency="usd", status="completed",
        created_at=yesterday))
    Order.objects.filter(pk=bought_yesterday.pk).update(created_at=yesterday)
    card = bought_yesterday.checkout_session  # its refunds made today count today
    package = CheckoutSessionFactory(status="completed")  # $4.99 sold today
    OrderFactory(total_cents=2500)  # a card order sold today
    for cents, status in [(1000, "succeeded"), (500, "pending"), (700, "failed"), (300, "requested")]:
        _refund(card, cents, status, key=f"card-{status}")
    _refund(card, 900, "succeeded", key="card-yesterday", when=yesterday)
    for cents, status in [(299, "succeeded"), (200, "canceled"), (100, "pending")]:
        _refund(package, cents, status, key=f"package-{status}")

    figures = dashboard_figures(since=day_began)

    # then: per kind, counted on the day they were asked while Stripe has them pending or succeeded
    assert (figures.card_refunded_cents, figures.package_refunded_cents) == (1000 + 500, 299 + 100)
    assert figures.refunded_cents == 1899
    assert (figures.card_sales_cents, figures.package_sales_cents) == (2500, 499)
    assert figures.sales_cents == 2500 + 499 - 1899
    assert figures.undone_refunds == 2
    page = staff_client.get(reverse(DASHBOARD)).content
    assert b'id="card-refunded" data-cents="1500"' in page and b'id="package-refunded" data-cents="399"' in page
    assert b'id="refunded-cents" data-cents="1899"' in page


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

    with django_assert_max_num_queries(18):  # as many as without disputes (the page's bound above)
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
