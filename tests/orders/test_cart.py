import json

import pytest
from django.urls import reverse

from orders.errors import CurrencyMismatch, InvalidQuantity, NotEnoughStock, ProductUnavailable
from orders.models import CartItem
from orders.selectors import cart_summary
from orders.services.cart import cart_add, cart_remove, cart_set_quantity
from tests.factories import ProductFactory, UserFactory

HTMX = {"HX-Request": "true"}


@pytest.fixture
def picture(db):
    return ProductFactory(title="Harbour Lights", price_cents=499, price_points=450)


def test_adding_twice_adds_up_and_totals_come_from_current_prices(shopper, picture):
    other = ProductFactory(price_cents=250, price_points=200)

    cart_add(user=shopper, product_id=picture.pk)
    cart_add(user=shopper, product_id=picture.pk, quantity=2)
    cart_add(user=shopper, product_id=other.pk)
    summary = cart_summary(user=shopper)

    assert [line.item.quantity for line in summary.lines] == [3, 1]
    assert (summary.count, summary.total_cents, summary.total_points) == (4, 3 * 499 + 250, 3 * 450 + 200)


@pytest.mark.parametrize("change, error, message", [
    (dict(quantity=0), InvalidQuantity, "between 1 and 10"),
    (dict(quantity=11), InvalidQuantity, "between 1 and 10"),
    (dict(quantity="2"), InvalidQuantity, "whole number"),
    (dict(quantity=True), InvalidQuantity, "whole number"),
])
def test_bad_quantities_are_refused(shopper, picture, change, error, message):
    with pytest.raises(error, match=message):
        cart_add(user=shopper, product_id=picture.pk, **change)
    assert not CartItem.objects.exists()


def test_inactive_or_unknown_products_are_refused(shopper, db):
    gone = ProductFactory(is_active=False)

    for product_id in (gone.pk, 999999):
        with pytest.raises(ProductUnavailable, match="no longer for sale"):
            cart_add(user=shopper, product_id=product_id)
    assert not CartItem.objects.exists()


def test_quantities_above_stock_are_refused_with_what_is_left(shopper, db):
    limited = ProductFactory(title="Last Prints", stock=2)
    cart_add(user=shopper, product_id=limited.pk, quantity=2)

    with pytest.raises(NotEnoughStock, match="Only 2 of “Last Prints” left; you asked for 3"):
        cart_add(user=shopper, product_id=limited.pk)
    with pytest.raises(NotEnoughStock, match="sold out"):
        cart_add(user=UserFactory(), product_id=ProductFactory(stock=0).pk)
    assert CartItem.objects.get(user=shopper).quantity == 2


def test_a_cart_holds_one_currency(shopper, picture):
    cart_add(user=shopper, product_id=picture.pk)

    with pytest.raises(CurrencyMismatch, match="priced in USD"):
        cart_add(user=shopper, product_id=ProductFactory(currency="eur").pk)


def test_set_quantity_and_remove(shopper, picture):
    cart_add(user=shopper, product_id=picture.pk)

    cart_set_quantity(user=shopper, product_id=picture.pk, quantity=4)
    assert CartItem.objects.get(user=shopper).quantity == 4
    cart_set_quantity(user=shopper, product_id=picture.pk, quantity=0)
    assert not CartItem.objects.exists()
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


# --- pages ----------------------------------------------------------------------------------------------------

def test_htmx_add_to_cart_confirms_and_announces_cart_changed(shopper_client, picture):
    response = shopper_client.post(reverse("orders:cart_add"), {"product_id": picture.pk, "quantity": 2},
                                   headers=HTMX)

    assert response.status_code == 200
    assert b"Added to your cart" in response.content
    assert "cart-changed" in json.loads(response["HX-Trigger"])
    badge = shopper_client.get(reverse("orders:cart_badge"), headers=HTMX)
    assert b'data-count="2"' in badge.content
    assert "no-store" in badge["Cache-Control"] or "no-cache" in badge["Cache-Control"]


def test_htmx_refusal_shows_the_reason_and_announces_nothing(shopper_client, db):
    sold_out = ProductFactory(stock=0)

    response = shopper_client.post(reverse("orders:cart_add"), {"product_id": sold_out.pk}, headers=HTMX)

    assert response.status_code == 200
    assert "sold out" in response.content.decode()
    assert "HX-Trigger" not in response
    assert not CartItem.objects.exists()


@pytest.mark.parametrize("data", [{}, {"product_id": "abc"}, {"product_id": "1", "quantity": "-3"},
                                  {"product_id": "1", "quantity": "99999999999999999999"}])
def test_garbage_input_gets_a_clear_message_not_an_error_page(shopper_client, db, data):
    response = shopper_client.post(reverse("orders:cart_add"), data, headers=HTMX)

    assert response.status_code == 200
    assert b"inline-message error" in response.content


def test_without_javascript_adding_redirects_to_the_cart(shopper_client, picture):
    response = shopper_client.post(reverse("orders:cart_add"), {"product_id": picture.pk, "quantity": 1}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("orders:cart")
    assert b"Harbour Lights" in response.content and b"Added to your cart" in response.content


def test_changing_quantity_returns_the_cart_fragment_with_new_totals(shopper_client, shopper, picture):
    cart_add(user=shopper, product_id=picture.pk)

    response = shopper_client.post(reverse("orders:cart_update", args=[picture.pk]), {"quantity": 3}, headers=HTMX)

    assert response.status_code == 200
    assert b"<html" not in response.content
    assert b"$14.97" in response.content and b"1,350 points" in response.content
    assert "cart-changed" in json.loads(response["HX-Trigger"])


def test_quantity_over_stock_on_the_cart_page_explains_and_keeps_the_old_quantity(shopper_client, shopper, db):
    limited = ProductFactory(stock=2)
    cart_add(user=shopper, product_id=limited.pk)

    response = shopper_client.post(reverse("orders:cart_update", args=[limited.pk]), {"quantity": 5}, headers=HTMX)

    assert "Only 2" in response.content.decode()
    assert CartItem.objects.get(user=shopper).quantity == 1


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
