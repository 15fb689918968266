"""The header's user, balance and cart count come from one query with the session; anything the plain check does
not accept goes Django's usual way, and a POST never shows figures read before it changed them."""

from django.test import RequestFactory
from django.urls import reverse

from ops.header import header_figures
from orders.services.cart import cart_add
from tests.factories import ProductFactory, give_points


def test_the_wallet_page_reads_the_balance_once_with_the_user(shopper_client, shopper, django_assert_num_queries):
    give_points(shopper, 1234)
    cart_add(user=shopper, product_id=ProductFactory().pk)
    cart_add(user=shopper, product_id=ProductFactory().pk)

    with django_assert_num_queries(2):  # session + user + wallet + cart count; the history
        page = shopper_client.get(reverse("wallet:home")).content.decode()

    assert page.count('data-balance="1234"') == 2  # the badge and the balance card, from the same row
    assert 'data-count="2"' in page


def test_a_password_changed_elsewhere_signs_the_session_out(shopper_client, shopper):
    shopper.set_password("another-password-entirely")
    shopper.save()

    response = shopper_client.get(reverse("wallet:home"))

    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_an_inactive_user_is_not_signed_in(shopper_client, shopper):
    shopper.is_active = False
    shopper.save()

    assert shopper_client.get(reverse("wallet:home")).status_code == 302


def test_no_figures_for_a_post(shopper):
    request = RequestFactory().post("/")
    request.user = shopper
    request._header_figures = object()

    assert header_figures(request) is None

