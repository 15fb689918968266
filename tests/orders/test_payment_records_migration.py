"""The migration that brings one payment per order records a payment for every order paid before it: with points
when the ledger holds its spend, by card otherwise; orders never paid get none."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from orders.models import OrderPayment
from tests.factories import ShopperFactory
from wallet.services import wallet_spend

BEFORE = [("orders", "0004_no_processing_status")]

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def before_payments_were_recorded():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        yield executor.loader.project_state(BEFORE).apps
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def test_every_order_paid_so_far_gets_its_one_payment(before_payments_were_recorded):
    Order = before_payments_were_recorded.get_model("orders", "Order")
    shopper = ShopperFactory(points=1000)

    def order(key, **fields):
        return Order.objects.create(user_id=shopper.pk, total_cents=250, total_points=200, currency="usd",
                                    idempotency_key=key, **fields)

    with_points = order("points", payment_method="points", status="completed")
    wallet_spend(user=shopper, points=200, idempotency_key=f"order:{with_points.pk}:pay", description="Order")
    by_card = order("card", payment_method="stripe", status="refunded", stripe_payment_intent_id="pi_card")
    sold_out = order("late", payment_method="stripe", status="cancelled", stripe_payment_intent_id="pi_late")
    never_paid = order("pending", payment_method="stripe", status="pending")

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    payments = {payment.order_id: (payment.method, payment.amount, payment.currency, payment.stripe_payment_intent_id)
                for payment in OrderPayment.objects.all()}
    assert payments == {with_points.pk: ("points", 200, "", ""), by_card.pk: ("stripe", 250, "usd", "pi_card"),
                        sold_out.pk: ("stripe", 250, "usd", "pi_late")}
    assert never_paid.pk not in payments
