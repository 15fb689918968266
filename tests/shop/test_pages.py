import pytest
from django.urls import reverse

from tests.factories import PointsPackageFactory, ProductFactory
from tests.payments import start_url

PUBLIC_PAGES = ["shop:catalog", "shop:packages", "login", "signup"]


@pytest.fixture
def catalog(db):
    return {"product": ProductFactory(title="Harbour Lights"), "package": PointsPackageFactory(name="Premium")}


@pytest.mark.parametrize("name", PUBLIC_PAGES)
def test_public_pages_render_for_anonymous_visitors(client, catalog, name):
    response = client.get(reverse(name))

    assert response.status_code == 200
    assert b"Log in" in response.content
    assert b"balance-badge" not in response.content


@pytest.mark.parametrize("name", ["shop:catalog", "shop:packages", "password_change"])
def test_pages_render_for_signed_in_shoppers_with_the_balance_badge(shopper_client, catalog, name):
    response = shopper_client.get(reverse(name))

    assert response.status_code == 200
    assert b'id="balance-badge"' in response.content
    assert b'hx-trigger="balance-changed from:body"' in response.content


def test_catalog_lists_active_products_only(client, catalog):
    ProductFactory(title="Withdrawn Print", is_active=False)

    response = client.get(reverse("shop:catalog"))

    assert b"Harbour Lights" in response.content
    assert b"Withdrawn Print" not in response.content


def test_catalog_load_more_returns_only_the_grid_fragment(client, db, django_assert_max_num_queries):
    ProductFactory.create_batch(15)

    with django_assert_max_num_queries(3):
        response = client.get(reverse("shop:catalog") + "?page=2", headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert b"<html" not in response.content
    assert response.content.count(b"product-card") == 3


def test_product_page_shows_price_in_money_and_points(client, catalog):
    response = client.get(catalog["product"].get_absolute_url())

    assert response.status_code == 200
    assert b"$4.99" in response.content
    assert b"450 points" in response.content


def test_inactive_or_unknown_product_is_a_friendly_404(client, db):
    product = ProductFactory(is_active=False)

    for url in [product.get_absolute_url(), reverse("shop:product", kwargs={"slug": "no-such-thing"})]:
        response = client.get(url)
        assert response.status_code == 404
        assert b"couldn't find that page" in response.content


def test_packages_page_lists_active_packages_in_order(client, db):
    PointsPackageFactory(name="Pro", points=2600, price_cents=1999, sort_order=3)
    PointsPackageFactory(name="Basic", points=500, price_cents=499, sort_order=1)
    PointsPackageFactory(name="Retired", is_active=False)

    content = client.get(reverse("shop:packages")).content.decode()

    assert content.index("Basic") < content.index("Pro")
    assert "2,600 points" in content and "$19.99" in content
    assert "Retired" not in content


def test_public_preview_images_are_served_but_full_images_are_not(client, catalog):
    product = catalog["product"]

    preview = client.get(product.preview.url)
    full = client.get("/media/" + product.image.name)

    assert preview.status_code == 200
    assert full.status_code == 404


def test_htmx_is_served_from_our_static_files(client, db):
    content = client.get(reverse("shop:catalog")).content.decode()

    assert "/static/django_htmx/htmx-2.min.js" in content
    assert "unpkg" not in content and "cdn" not in content.lower()
    assert client.get("/static/django_htmx/htmx-2.min.js").status_code == 200


def test_packages_page_offers_buy_buttons_to_shoppers_and_a_login_link_to_visitors(client, shopper, package):
    anonymous = client.get(reverse("shop:packages"))
    assert b"Log in to buy" in anonymous.content
    client.force_login(shopper)
    signed_in = client.get(reverse("shop:packages"))
    assert f'action="{start_url()}"'.encode() in signed_in.content
    assert b"Buy Premium" in signed_in.content


def test_a_catalog_page_past_the_end_says_so(client, db):
    ProductFactory.create_batch(3)

    response = client.get(reverse("shop:catalog") + "?page=9")

    assert response.status_code == 200 and b"No more products" in response.content
    assert b"product-card" not in response.content
