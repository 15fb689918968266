""""Buy now" on a product page (points or card, straight to payment, the cart left alone) and the one-copy rule
at payment: a product the shopper owns is refused by every way of paying, with nothing lost."""

import json
import uuid

import pytest
from django.urls import reverse

from checkout.models import CheckoutSession
from orders.errors import AlreadyOwned
from orders.models import CartItem, LibraryEntry, Order, OrderStatus
from orders.services.card import order_checkout_start
from orders.services.cart import cart_add
from orders.services.placement import order_pay_with_points
from shop.models import Product
from tests.factories import ProductFactory, give_points
from tests.orders.helpers import buy_with_points
from wallet.models import LedgerEntry
from wallet.selectors import wallet_balance

HTMX = {"HX-Request": "true"}


@pytest.fixture
def picture(db):
    return ProductFactory(title="Harbour Lights", price_cents=499, price_points=450, stock=5)


def buy_now(client, product, method, token=None, **kwargs):
    return client.post(reverse("orders:buy_now"), {"product_id": product.pk, "method": method,
                                                   "checkout_token": token or str(uuid.uuid4())}, **kwargs)


def cart_of(user):
    return sorted(CartItem.objects.filter(user=user).values_list("product_id", flat=True))


def test_buy_now_with_points_pays_for_that_product_only_and_leaves_the_cart(shopper_client, shopper, picture):
    give_points(shopper, 1000)
    elsewhere = ProductFactory()
    cart_add(user=shopper, product_id=elsewhere.pk)

    response = buy_now(shopper_client, picture, "points")

    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("orders:detail", args=[order.pk])
    assert (order.status, order.payment_method, order.total_points) == (OrderStatus.COMPLETED, "points", 450)
    assert [(item.product_id, item.quantity) for item in order.items.all()] == [(picture.pk, 1)]
    assert wallet_balance(user=shopper).current == 550
    assert Product.objects.get(pk=picture.pk).stock == 4
    assert cart_of(shopper) == [elsewhere.pk]
    assert LibraryEntry.objects.filter(user=shopper, product=picture).exists()
    assert "Bought now" in order.status_changes.first().reason
    page = shopper_client.get(response["Location"]).content.decode()
    assert f"Order {order.short_id} is paid with points" in page and "Download Harbour Lights" in page


def test_buying_now_what_is_in_the_cart_takes_it_out_of_the_cart(shopper, picture):
    """Owned now, the line could only block the cart's payment: it goes, the rest of the cart stays."""
    give_points(shopper, 1000)
    other = ProductFactory()
    cart_add(user=shopper, product_id=picture.pk)
    cart_add(user=shopper, product_id=other.pk)

    order_pay_with_points(user=shopper, idempotency_key="now", product_id=picture.pk)

    assert cart_of(shopper) == [other.pk]


def test_buy_now_by_card_goes_straight_to_stripe_with_the_product_reserved(shopper_client, shopper, picture):
    elsewhere = ProductFactory(stock=3)
    cart_add(user=shopper, product_id=elsewhere.pk)

    response = buy_now(shopper_client, picture, "stripe")

    order = Order.objects.get()
    session = order.checkout_session
    assert response.status_code == 302 and response["Location"] == session.stripe_checkout_url
    assert "/demo-stripe/" in session.stripe_checkout_url
    assert (order.status, order.payment_method, order.total_cents) == (OrderStatus.PENDING, "stripe", 499)
    assert [item.product_id for item in order.items.all()] == [picture.pk]
    assert (session.kind, session.amount_cents) == ("cart", 499)
    assert Product.objects.get(pk=picture.pk).stock == 4  # held while the shopper pays
    assert Product.objects.get(pk=elsewhere.pk).stock == 3  # the cart's product is not
    assert cart_of(shopper) == [elsewhere.pk]


def test_buy_now_by_card_paid_completes_and_owns_it(shopper_client, shopper, picture, webhooks,
                                                   django_capture_on_commit_callbacks):
    response = buy_now(shopper_client, picture, "stripe")

    with django_capture_on_commit_callbacks(execute=True):  # the demo Stripe's events go out after commit
        paid = shopper_client.post(response["Location"], {"action": "pay"})

    order = Order.objects.get()
    assert paid["Location"].endswith(reverse("orders:detail", args=[order.pk]))
    assert order.status == OrderStatus.COMPLETED
    assert LibraryEntry.objects.filter(user=shopper, product=picture, order_item__order=order).exists()


def test_a_double_click_buys_once(shopper_client, shopper, picture):
    give_points(shopper, 1000)
    token = str(uuid.uuid4())

    first = buy_now(shopper_client, picture, "points", token)
    second = buy_now(shopper_client, picture, "points", token)

    assert first["Location"] == second["Location"]
    assert Order.objects.count() == 1 and LedgerEntry.objects.filter(kind="spend").count() == 1


def test_a_double_click_by_card_continues_the_same_checkout(shopper_client, picture):
    token = str(uuid.uuid4())

    first = buy_now(shopper_client, picture, "stripe", token)
    second = buy_now(shopper_client, picture, "stripe", token)

    assert first["Location"] == second["Location"]
    assert Order.objects.count() == 1 and CheckoutSession.objects.count() == 1


def test_buy_now_signed_out_goes_to_log_in_and_back_to_the_product(client, picture):
    response = buy_now(client, picture, "points")

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={picture.get_absolute_url()}"
    assert not Order.objects.exists()


def test_buy_now_signed_out_through_htmx_redirects_the_page_to_log_in(client, picture):
    response = buy_now(client, picture, "stripe", headers={**HTMX, "HX-Current-URL":
                                                           f"http://testserver{picture.get_absolute_url()}"})

    assert response["HX-Redirect"] == f"{reverse('login')}?next={picture.get_absolute_url().replace('/', '%2F')}"


def test_not_enough_points_says_so_on_the_product_page_and_changes_nothing(shopper_client, shopper, picture):
    give_points(shopper, 100)

    response = buy_now(shopper_client, picture, "points", follow=True)

    assert response.redirect_chain[-1][0] == picture.get_absolute_url()
    assert "Not enough points to spend 450 points: the balance is 100 points." in response.content.decode()
    assert not Order.objects.exists() and wallet_balance(user=shopper).current == 100
    assert Product.objects.get(pk=picture.pk).stock == 5


def test_htmx_refusal_is_shown_beside_the_buttons(shopper_client, shopper, picture):
    buy_with_points(shopper, picture)

    response = buy_now(shopper_client, picture, "stripe", headers=HTMX)

    assert response.status_code == 200
    assert "You already own “Harbour Lights”: it is in your downloads." in response.content.decode()
    assert "HX-Redirect" not in response and "HX-Trigger" not in response


@pytest.mark.parametrize("data, message", [
    ({"method": "points", "checkout_token": "not-a-uuid"}, "This form is out of date"),
    ({"method": "gold", "checkout_token": str(uuid.uuid4())}, "Method"),
    ({"product_id": "abc", "method": "points", "checkout_token": str(uuid.uuid4())}, "Product id"),
])
def test_bad_forms_get_a_message_not_an_error_page(shopper_client, picture, data, message):
    response = shopper_client.post(reverse("orders:buy_now"), {"product_id": picture.pk, **data}, headers=HTMX)

    assert response.status_code == 200 and message in response.content.decode()
    assert not Order.objects.exists()


def test_a_product_withdrawn_or_sold_out_is_refused(shopper_client, shopper, db):
    give_points(shopper, 1000)
    gone, sold_out = ProductFactory(is_active=False), ProductFactory(stock=0, title="Last Light")

    assert "no longer for sale" in buy_now(shopper_client, gone, "points", headers=HTMX).content.decode()
    assert "“Last Light” is sold out" in buy_now(shopper_client, sold_out, "stripe", headers=HTMX).content.decode()
    assert not Order.objects.exists() and not CheckoutSession.objects.exists()


# --- an owned product is never sold again ---------------------------------------------------------------------

@pytest.mark.parametrize("method", ["points", "stripe"])
def test_buying_an_owned_product_now_is_refused_and_loses_nothing(shopper_client, shopper, picture, method):
    first = buy_with_points(shopper, picture)
    give_points(shopper, 1000)
    before = (wallet_balance(user=shopper).current, Product.objects.get(pk=picture.pk).stock)

    response = buy_now(shopper_client, picture, method, follow=True)

    assert "You already own “Harbour Lights”" in response.content.decode()
    assert list(Order.objects.values_list("pk", flat=True)) == [first.pk]
    assert not CheckoutSession.objects.exists()
    assert (wallet_balance(user=shopper).current, Product.objects.get(pk=picture.pk).stock) == before


@pytest.mark.parametrize("pay", ["orders:pay_with_points", "orders:pay_by_card"])
def test_paying_a_cart_with_an_owned_product_is_refused_and_loses_nothing(shopper_client, shopper, picture, pay):
    other = ProductFactory(title="Desert Bloom", stock=2)
    cart_add(user=shopper, product_id=picture.pk)
    cart_add(user=shopper, product_id=other.pk)
    first = buy_with_points(shopper, picture)  # bought in another tab
    CartItem.objects.create(user=shopper, product=picture)  # the line that tab's purchase did not see
    give_points(shopper, 1000)
    before = (wallet_balance(user=shopper).current, Product.objects.get(pk=other.pk).stock, cart_of(shopper))

    response = shopper_client.post(reverse(pay), {"checkout_token": str(uuid.uuid4())}, headers=HTMX)

    assert "You already own “Harbour Lights”: it is in your downloads." in response.content.decode()
    assert list(Order.objects.values_list("pk", flat=True)) == [first.pk]
    assert not CheckoutSession.objects.exists()
    assert (wallet_balance(user=shopper).current, Product.objects.get(pk=other.pk).stock, cart_of(shopper)) == before


def test_paying_with_points_refuses_owned_and_keeps_the_card_checkout_open(shopper, picture):
    """The refusal rolls back everything, the ending of the cart's card checkout in progress included."""
    other = ProductFactory()
    buy_with_points(shopper, picture)
    cart_add(user=shopper, product_id=other.pk)
    session = order_checkout_start(user=shopper, idempotency_key="card")
    CartItem.objects.create(user=shopper, product=picture)  # added in another tab, past the checks
    give_points(shopper, 1000)

    with pytest.raises(AlreadyOwned):
        order_pay_with_points(user=shopper, idempotency_key="points")

    assert CheckoutSession.objects.get(pk=session.pk).status == "active"
    assert Order.objects.get(checkout_session=session).status == OrderStatus.PENDING


def test_a_refunded_product_can_be_bought_now_again(shopper_client, shopper, picture, staff):
    from orders.services.refunds import order_refund_points

    first = buy_with_points(shopper, picture)
    order_refund_points(order_id=first.pk, staff_user=staff, reason="Wrong file")
    assert not LibraryEntry.objects.filter(user=shopper).exists()
    give_points(shopper, 450)

    response = buy_now(shopper_client, picture, "points")

    assert response.status_code == 302
    assert Order.objects.filter(status=OrderStatus.COMPLETED).count() == 1


def test_the_htmx_points_purchase_redirects_the_page_to_the_order(shopper_client, shopper, picture):
    give_points(shopper, 1000)

    response = buy_now(shopper_client, picture, "points", headers=HTMX)

    assert response["HX-Redirect"] == reverse("orders:detail", args=[Order.objects.get().pk])
    assert "HX-Trigger" not in response or "balance-changed" not in json.loads(response["HX-Trigger"])
