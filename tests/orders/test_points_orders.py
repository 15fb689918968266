import json
import threading
import uuid

import pytest
from django.db import connection
from django.urls import reverse

from orders.errors import NotEnoughStock, ProductUnavailable
from orders.models import CartItem, Order, OrderStatus
from orders.services import placement
from orders.services.cart import cart_add
from orders.services.placement import order_pay_with_points
from shop.models import Product
from tests.factories import ProductFactory, ShopperFactory, give_points
from wallet.models import LedgerEntry
from wallet.selectors import wallet_balance
from wallet.services import InsufficientPoints

CART_TOTAL_POINTS = 450 + 280


def pay(user, token=None):
    return order_pay_with_points(user=user, idempotency_key=f"test:{token or uuid.uuid4()}")


def snapshot(user):
    return {
        "orders": Order.objects.count(),
        "entries": LedgerEntry.objects.filter(wallet__user=user).count(),
        "balance": wallet_balance(user=user).current,
        "cart": sorted(CartItem.objects.filter(user=user).values_list("product_id", flat=True)),
        "stock": sorted(Product.objects.values_list("pk", "stock")),
    }


def test_paying_with_points_creates_the_order_spends_takes_stock_and_clears_the_cart(filled_cart, two_pictures,
                                                                                     django_capture_on_commit_callbacks):
    give_points(filled_cart, 1500)

    with django_capture_on_commit_callbacks() as callbacks:
        order = pay(filled_cart)

    assert order.status == OrderStatus.COMPLETED and order.fulfilled_at is not None
    assert (order.total_points, order.total_cents) == (CART_TOTAL_POINTS, 499 + 299)
    assert [(item.title, item.quantity, item.unit_price_points) for item in order.items.all()] == [
        ("Harbour Lights", 1, 450), ("Desert Bloom", 1, 280)]
    spend = LedgerEntry.objects.get(wallet__user=filled_cart, kind="spend")
    assert spend.amount == -CART_TOTAL_POINTS and spend.metadata["order_id"] == str(order.pk)
    assert wallet_balance(user=filled_cart).current == 1500 - CART_TOTAL_POINTS
    assert Product.objects.get(pk=two_pictures[1].pk).stock == 2
    assert not CartItem.objects.filter(user=filled_cart).exists()
    assert [change.to_status for change in order.status_changes.all()] == ["pending", "completed"]
    assert len(callbacks) == 1  # the confirmation email is queued only after commit


def test_not_enough_points_changes_nothing(filled_cart):
    give_points(filled_cart, 700)
    before = snapshot(filled_cart)

    with pytest.raises(InsufficientPoints, match="700"):
        pay(filled_cart)

    assert snapshot(filled_cart) == before


def test_a_product_gone_inactive_changes_nothing(filled_cart, two_pictures):
    give_points(filled_cart, 5000)
    Product.objects.filter(pk=two_pictures[0].pk).update(is_active=False)
    before = snapshot(filled_cart)

    with pytest.raises(ProductUnavailable, match="Harbour Lights"):
        pay(filled_cart)

    assert snapshot(filled_cart) == before


def test_stock_run_out_since_adding_changes_nothing(filled_cart, two_pictures):
    give_points(filled_cart, 5000)
    Product.objects.filter(pk=two_pictures[1].pk).update(stock=0)
    before = snapshot(filled_cart)

    with pytest.raises(NotEnoughStock, match="“Desert Bloom” is sold out"):
        pay(filled_cart)

    assert snapshot(filled_cart) == before


def test_a_failure_at_the_last_step_rolls_everything_back(filled_cart, monkeypatch):
    give_points(filled_cart, 5000)
    before = snapshot(filled_cart)

    def broken_cart_removal(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(placement, "cart_remove_ordered", broken_cart_removal)
    with pytest.raises(RuntimeError):
        pay(filled_cart)

    assert snapshot(filled_cart) == before


def test_the_same_token_twice_is_one_order_and_one_spend(filled_cart):
    give_points(filled_cart, 5000)

    first = pay(filled_cart, token="double-click")
    second = pay(filled_cart, token="double-click")

    assert first.pk == second.pk
    assert Order.objects.count() == 1
    assert LedgerEntry.objects.filter(kind="spend").count() == 1


def test_an_empty_cart_cannot_be_paid(shopper):
    give_points(shopper, 100)

    with pytest.raises(Exception, match="Your cart is empty"):
        pay(shopper)
    assert not Order.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_many_buyers_racing_for_the_last_copies_never_oversell():
    last_copies = ProductFactory(title="Last Copies", stock=3, price_points=100)
    buyers = ShopperFactory.create_batch(12, points=1000)
    for buyer in buyers:
        cart_add(user=buyer, product_id=last_copies.pk)
    barrier = threading.Barrier(len(buyers))
    outcomes = []

    def buy(buyer):
        try:
            barrier.wait()
            pay(buyer)
            outcomes.append("bought")
        except NotEnoughStock:
            outcomes.append("sold out")
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=(buyer,)) for buyer in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("bought") == 3 and outcomes.count("sold out") == 9
    assert Product.objects.get(pk=last_copies.pk).stock == 0
    assert Order.objects.filter(status="completed").count() == 3
    assert LedgerEntry.objects.filter(kind="spend").count() == 3


# --- pages ----------------------------------------------------------------------------------------------------

def test_htmx_pay_with_points_announces_balance_cart_and_order_changes(filled_cart, client):
    give_points(filled_cart, 2000)
    client.force_login(filled_cart)

    response = client.post(reverse("orders:pay_with_points"), {"checkout_token": str(uuid.uuid4())},
                           headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert b"is paid" in response.content
    assert set(json.loads(response["HX-Trigger"])) == {"balance-changed", "cart-changed", "order-changed"}
    badge = client.get(reverse("wallet:balance"), headers={"HX-Request": "true"})
    assert str(2000 - CART_TOTAL_POINTS).encode() in badge.content


def test_pay_with_points_refusal_is_shown_in_the_cart(filled_cart, client):
    client.force_login(filled_cart)

    response = client.post(reverse("orders:pay_with_points"), {"checkout_token": str(uuid.uuid4())},
                           headers={"HX-Request": "true"})

    assert "HX-Trigger" not in response
    assert b"inline-message error" in response.content and b"Harbour Lights" in response.content
    assert not Order.objects.exists()


def test_pay_with_points_without_javascript_redirects_to_the_order(filled_cart, client):
    give_points(filled_cart, 2000)
    client.force_login(filled_cart)

    response = client.post(reverse("orders:pay_with_points"), {"checkout_token": str(uuid.uuid4())}, follow=True)

    order = Order.objects.get()
    assert response.redirect_chain[-1][0] == reverse("orders:detail", args=[order.pk])
    assert b"Download Harbour Lights" in response.content


@pytest.mark.parametrize("token", ["", "not-a-uuid", "'; DROP TABLE orders_order; --"])
def test_a_bad_checkout_token_is_refused_cleanly(filled_cart, client, token):
    give_points(filled_cart, 2000)
    client.force_login(filled_cart)

    response = client.post(reverse("orders:pay_with_points"), {"checkout_token": token}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert b"out of date" in response.content
    assert not Order.objects.exists()


def test_paying_with_points_takes_one_statement_per_step(transactional_db, django_assert_num_queries):
    # The shopper locked once, one replay check, the card checkout to end, the cart (with what is owned already),
    # the order (created completed), its item, its history of both steps, the spend, the payment, the library,
    # the cart's lines: no savepoints (a refusal undoes the whole transaction), nothing read twice, no stock
    # statement for an unlimited product, no UPDATE of the order just inserted. BEGIN and COMMIT make up the rest.
    shopper = ShopperFactory()
    give_points(shopper, 1000)
    cart_add(user=shopper, product_id=ProductFactory(price_points=300, stock=None).pk)

    with django_assert_num_queries(13) as captured:
        order = pay(shopper)

    assert order.status == OrderStatus.COMPLETED and wallet_balance(user=shopper).current == 700
    statements = [query["sql"] for query in captured.captured_queries]
    assert not [sql for sql in statements if "SAVEPOINT" in sql or sql.startswith('UPDATE "shop_product"')]
    assert not [sql for sql in statements if sql.startswith('UPDATE "orders_order"')]
    history = list(order.status_changes.order_by("id").values_list("from_status", "to_status", "reason"))
    assert history == [("", "pending", "Placed from the cart, paying by Points."),
                       ("pending", "completed", "Paid with 300 points.")]
    assert order.fulfilled_at is not None
