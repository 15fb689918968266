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



def test_a_post_reads_session_and_user_in_one_query(shopper_client, shopper):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    product = ProductFactory()
    with CaptureQueriesContext(connection) as captured:
        response = shopper_client.post(reverse("orders:cart_add"), {"product_id": product.pk},
                                       headers={"HX-Request": "true"})

    assert response.status_code == 200 and shopper.cart_items.filter(product=product).exists()
    sessions = [query["sql"] for query in captured if "shop_session" in query["sql"]]
    assert len(sessions) == 1 and "JOIN shop_user" in sessions[0], sessions  # the user with the session
    assert not [query["sql"] for query in captured if '"shop_user"."password"' in query["sql"]]  # not again


def test_a_post_with_a_password_changed_elsewhere_is_not_signed_in(shopper_client, shopper):
    shopper.set_password("another-password-entirely")
    shopper.save()

    response = shopper_client.post(reverse("orders:cart_add"), {"product_id": ProductFactory().pk})

    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_cached_header_is_each_shoppers_own_with_this_requests_csrf_token(db, renders, empty_fragment_caches):
    from django.test import Client

    from tests.factories import ShopperFactory, StaffFactory

    first, staff = ShopperFactory(email="first@example.com"), StaffFactory(email="boss@example.com")
    # A valid address with characters HTML must escape: filled in escaped, never as markup.
    second = ShopperFactory(email="o'brien&co@example.com")
    pages = {}
    for user in (first, staff, first, second):
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        page = client.get(reverse("shop:catalog")).content.decode()
        token = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
        assert "__csrf_token_placeholder__" not in page and "__email_placeholder__" not in page
        assert client.post(reverse("logout"), {"csrfmiddlewaretoken": token}).status_code == 302  # the token works
        pages.setdefault(user.email, []).append(page)

    assert "first@example.com" in pages["first@example.com"][0]
    assert "boss@example.com" not in pages["first@example.com"][0]
    assert "Staff admin" in pages["boss@example.com"][0] and "Staff admin" not in pages["first@example.com"][1]
    second_page = pages["o'brien&co@example.com"][0]
    assert second_page.count("o&#x27;brien&amp;co@example.com") == 2 and "first@example.com" not in second_page
    assert "o'brien&co@" not in second_page
    signed_out = Client().get(reverse("shop:catalog")).content.decode()
    assert "Log out" not in signed_out and "Log in" in signed_out
    # One rendering for shoppers, one for staff, one for visitors: the email is filled in per request.
    assert renders.count("partials/site_chrome.html") == 3
