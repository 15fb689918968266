import json

import pytest
from django.urls import reverse

from orders.errors import AlreadyInCart, AlreadyOwned, CurrencyMismatch, NotEnoughStock, ProductUnavailable
from orders.models import CartItem
from orders.selectors import cart_summary
from orders.services.cart import cart_add, cart_remove
from tests.factories import ProductFactory, UserFactory
from tests.orders.helpers import buy_with_points

HTMX = {"HX-Request": "true"}


@pytest.fixture
def picture(db):
    return ProductFactory(title="Harbour Lights", price_cents=499, price_points=450)


def test_a_cart_line_is_one_copy_and_totals_come_from_current_prices(shopper, picture):
    other = ProductFactory(price_cents=250, price_points=200)

    cart_add(user=shopper, product_id=picture.pk)
    cart_add(user=shopper, product_id=other.pk)
    picture.price_cents = 549
    picture.save()
    summary = cart_summary(user=shopper)

    assert [line.item.product_id for line in summary.lines] == [picture.pk, other.pk]
    assert (summary.count, summary.total_cents, summary.total_points) == (2, 549 + 250, 450 + 200)


def test_adding_a_product_already_in_the_cart_is_refused(shopper, picture):
    cart_add(user=shopper, product_id=picture.pk)

    with pytest.raises(AlreadyInCart, match="“Harbour Lights” is already in your cart"):
        cart_add(user=shopper, product_id=picture.pk)
    assert CartItem.objects.filter(user=shopper).count() == 1


def test_the_database_keeps_one_row_per_product(shopper, picture):
    from django.db import IntegrityError, transaction

    CartItem.objects.create(user=shopper, product=picture)
    with pytest.raises(IntegrityError), transaction.atomic():
        CartItem.objects.create(user=shopper, product=picture)


def test_a_product_the_shopper_owns_is_refused(shopper, picture):
    buy_with_points(shopper, picture)

    with pytest.raises(AlreadyOwned, match="You already own “Harbour Lights”: it is in your downloads"):
        cart_add(user=shopper, product_id=picture.pk)
    assert not CartItem.objects.exists()
    cart_add(user=UserFactory(), product_id=picture.pk)  # someone else may still buy it


def test_a_refunded_product_can_be_bought_again(shopper, picture):
    from orders.services.refunds import order_refund_points

    order = buy_with_points(shopper, picture)
    order_refund_points(order_id=order.pk, staff_user=None, reason="Wrong picture", points=order.total_points)

    assert cart_add(user=shopper, product_id=picture.pk).product_id == picture.pk


def test_inactive_or_unknown_products_are_refused(shopper, db):
    gone = ProductFactory(is_active=False)

    for product_id in (gone.pk, 999999):
        with pytest.raises(ProductUnavailable, match="no longer for sale"):
            cart_add(user=shopper, product_id=product_id)
    assert not CartItem.objects.exists()


def test_sold_out_products_are_refused(shopper, db):
    with pytest.raises(NotEnoughStock, match="“Last Print” is sold out"):
        cart_add(user=shopper, product_id=ProductFactory(title="Last Print", stock=0).pk)
    cart_add(user=shopper, product_id=ProductFactory(stock=1).pk)  # the last copy can go in a cart
    assert CartItem.objects.filter(user=shopper).count() == 1


def test_a_cart_holds_one_currency(shopper, picture):
    cart_add(user=shopper, product_id=picture.pk)

    with pytest.raises(CurrencyMismatch, match="priced in USD"):
        cart_add(user=shopper, product_id=ProductFactory(currency="eur").pk)


def test_remove(shopper, picture):
    cart_add(user=shopper, product_id=picture.pk)

    cart_remove(user=shopper, product_id=picture.pk)

    assert not CartItem.objects.exists()


def test_carts_are_per_shopper(shopper, picture):
    cart_add(user=shopper, product_id=picture.pk)

    assert cart_summary(user=UserFactory()).is_empty


def test_a_product_withdrawn_after_adding_is_flagged_in_the_cart(shopper, picture):
    cart_add(user=shopper, product_id=picture.pk)
    picture.is_active = False
    picture.save()

    assert cart_summary(user=shopper).problems == ["“Harbour Lights” is no longer for sale."]


def test_a_product_bought_meanwhile_is_flagged_in_the_cart(shopper, picture):
    owned = ProductFactory(title="Owned Elsewhere")
    cart_add(user=shopper, product_id=picture.pk)
    cart_add(user=shopper, product_id=owned.pk)
    # bought now in another tab: the cart line goes with the purchase...
    buy_with_points(shopper, owned)
    assert [line.item.product_id for line in cart_summary(user=shopper).lines] == [picture.pk]
    # ... and a line that was there all the same (a row written before the purchase committed) is flagged
    CartItem.objects.create(user=shopper, product=owned)

    assert cart_summary(user=shopper).problems == [
        "You already own “Owned Elsewhere”: it is in your downloads. Remove it from your cart."]


# --- pages ----------------------------------------------------------------------------------------------------

def test_htmx_add_to_cart_confirms_and_announces_cart_changed(shopper_client, picture):
    response = shopper_client.post(reverse("orders:cart_add"), {"product_id": picture.pk}, headers=HTMX)

    assert response.status_code == 200
    assert b"Added to your cart" in response.content
    assert "cart-changed" in json.loads(response["HX-Trigger"])
    badge = shopper_client.get(reverse("orders:cart_badge"), headers=HTMX)
    assert b'data-count="1"' in badge.content
    assert "no-store" in badge["Cache-Control"] or "no-cache" in badge["Cache-Control"]


def test_htmx_refusal_shows_the_reason_and_announces_nothing(shopper_client, db):
    sold_out = ProductFactory(stock=0)

    response = shopper_client.post(reverse("orders:cart_add"), {"product_id": sold_out.pk}, headers=HTMX)

    assert response.status_code == 200
    assert "sold out" in response.content.decode()
    assert "HX-Trigger" not in response
    assert not CartItem.objects.exists()


@pytest.mark.parametrize("data", [{}, {"product_id": "abc"}, {"product_id": "-3"},
                                  {"product_id": "99999999999999999999"}])
def test_garbage_input_gets_a_clear_message_not_an_error_page(shopper_client, db, data):
    response = shopper_client.post(reverse("orders:cart_add"), data, headers=HTMX)

    assert response.status_code == 200
    assert b"inline-message error" in response.content


def test_without_javascript_adding_redirects_to_the_cart(shopper_client, picture):
    response = shopper_client.post(reverse("orders:cart_add"), {"product_id": picture.pk}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("orders:cart")
    assert b"Harbour Lights" in response.content and b"Added to your cart" in response.content


def test_adding_twice_on_the_page_says_it_is_in_the_cart_already(shopper_client, shopper, picture):
    cart_add(user=shopper, product_id=picture.pk)

    response = shopper_client.post(reverse("orders:cart_add"), {"product_id": picture.pk}, headers=HTMX)

    assert "“Harbour Lights” is already in your cart." in response.content.decode()
    assert "HX-Trigger" not in response


def test_adding_an_owned_product_on_the_page_says_so(shopper_client, shopper, picture):
    buy_with_points(shopper, picture)

    response = shopper_client.post(reverse("orders:cart_add"), {"product_id": picture.pk}, follow=True)

    assert "You already own “Harbour Lights”" in response.content.decode()
    assert not CartItem.objects.exists()


def test_the_cart_page_has_no_quantity_box(shopper_client, shopper, picture):
    cart_add(user=shopper, product_id=picture.pk)

    page = shopper_client.get(reverse("orders:cart")).content.decode()

    assert 'name="quantity"' not in page and "Quantity" not in page
    assert "/cart/items/" in page  # the remove form is still there
    assert shopper_client.post(f"/cart/items/{picture.pk}/", {"quantity": 3}).status_code == 404


def test_removing_from_the_cart_page(shopper_client, shopper, picture):
    cart_add(user=shopper, product_id=picture.pk)

    response = shopper_client.post(reverse("orders:cart_remove", args=[picture.pk]), headers=HTMX)

    assert b"Your cart is empty" in response.content
    assert "cart-changed" in json.loads(response["HX-Trigger"])


def test_cart_page_query_count_does_not_grow_with_lines(shopper_client, shopper, django_assert_max_num_queries):
    for product in ProductFactory.create_batch(8):
        cart_add(user=shopper, product_id=product.pk)

    with django_assert_max_num_queries(8):
        response = shopper_client.get(reverse("orders:cart"))

    assert response.content.count(b'class="cart-line') == 8


def test_the_cart_needs_a_login(client, db):
    assert client.get(reverse("orders:cart")).status_code == 302
    response = client.post(reverse("orders:cart_add"), {"product_id": 1}, headers=HTMX)
    assert response["HX-Redirect"].startswith("/accounts/login/")


def test_adding_to_the_cart_is_three_statements_and_no_transaction_of_its_own(transactional_db, shopper, picture,
                                                                               django_assert_num_queries):
    # The product with whether the shopper owns it, one look at the cart (this product, another currency), the
    # insert: committing on its own, with no BEGIN and COMMIT around it.
    with django_assert_num_queries(3) as captured:
        cart_add(user=shopper, product_id=picture.pk)

    assert captured.captured_queries[-1]["sql"].startswith('INSERT INTO "orders_cartitem"')
    assert CartItem.objects.filter(user=shopper, product=picture).exists()

