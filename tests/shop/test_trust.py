"""What makes the shop look like one people can trust: a name and mark, a footer that speaks to shoppers with the
information pages (flat pages, edited in the admin), an icon at /favicon.ico, "Secure payment by Stripe" where
shoppers pay, and what the points of each package are worth."""

import pytest
from django.contrib.flatpages.models import FlatPage
from django.contrib.sites.models import Site
from django.urls import reverse

from orders.services.cart import cart_add
from shop.pages import SHOP_PAGES
from tests.factories import PointsPackageFactory, ProductFactory
from wallet.selectors import points_packages_valued
from wallet.services import points_purchase_start


@pytest.fixture
def pages(db):
    site = Site.objects.get(pk=1)
    for page in SHOP_PAGES:
        FlatPage.objects.create(url=page.url, title=page.title, content=page.content).sites.add(site)


def test_every_page_has_the_brand_and_a_footer_for_shoppers(client, pages):
    html = client.get(reverse("shop:catalog")).content.decode()

    assert 'class="logo-mark"' in html and 'class="brand-name">Pixel Shop<' in html
    footer = html[html.index('<footer class="site-footer">'):]
    for name, label in [("about", "About"), ("contact", "Contact"), ("terms", "Terms"), ("refunds", "Refund policy"),
                        ("privacy", "Privacy")]:
        assert f'<a href="{reverse(name)}">{label}</a>' in footer
    assert "Card payments are processed securely by Stripe" in footer
    assert "server" not in footer.lower() and "balances" not in footer.lower()  # not written for developers


@pytest.mark.parametrize("page", SHOP_PAGES, ids=lambda page: page.name)
def test_the_information_pages_are_served_from_the_flat_pages(client, pages, page):
    FlatPage.objects.filter(url=page.url).update(content="<p>Edited by staff.</p>")

    response = client.get(reverse(page.name))

    assert response.status_code == 200
    assert f"<h1>{page.title}</h1>" in response.content.decode() and "Edited by staff." in response.content.decode()


def test_a_missing_information_page_is_a_404_not_an_error(client, db):
    assert client.get(reverse("about")).status_code == 404


def test_staff_edit_the_pages_in_the_admin(staff_client, pages):
    listing = staff_client.get(reverse("admin:flatpages_flatpage_changelist"))

    assert listing.status_code == 200 and "Refund policy" in listing.content.decode()


def test_favicon_ico_is_an_icon_not_a_404(client, db):
    response = client.get("/favicon.ico")

    assert response.status_code == 302 and response["Location"].endswith(".ico")
    icon = client.get(response["Location"])
    assert icon.status_code == 200 and b"".join(icon.streaming_content)[:4] == b"\x00\x00\x01\x00"


def test_secure_payment_by_stripe_is_said_where_shoppers_pay(client, shopper):
    client.force_login(shopper)
    product = ProductFactory()
    cart_add(user=shopper, product_id=product.pk)
    session = points_purchase_start(user=shopper, package=PointsPackageFactory()).session

    for url in [reverse("orders:cart"), reverse("points:review", args=[session.pk]), reverse("shop:packages"),
                ProductFactory().get_absolute_url()]:  # beside "Buy now by card"
        assert "Secure payment by Stripe." in client.get(url).content.decode(), url


def test_packages_say_what_a_point_is_worth_and_what_bigger_ones_save(client, db):
    PointsPackageFactory(name="Basic", points=500, price_cents=499, sort_order=1)
    PointsPackageFactory(name="Premium", points=1200, price_cents=999, sort_order=2)
    PointsPackageFactory(name="Pro", points=2600, price_cents=1999, sort_order=3)

    values = {package.name: package.value for package in points_packages_valued()}
    html = client.get(reverse("shop:packages")).content.decode()

    # per 100 points: $4.99 / 5 = 99.8 cents, $9.99 / 12 = 83.25, $19.99 / 26 = 76.9 (22.96% less: 22, rounded down)
    assert [(values[name].cents_per_100_points, values[name].saving_percent) for name in ("Basic", "Premium", "Pro")] \
        == [(100, 0), (83, 16), (77, 22)]
    assert "$1.00 per 100 points" in html and "$0.83 per 100 points" in html
    assert "Save 16%</strong> per point compared with Basic" in html and "Save 22%" in html
    assert html.count("package-saving") == 2  # not on the smallest package


def test_package_savings_compare_within_a_currency(db):
    PointsPackageFactory(name="Dollars", points=100, price_cents=100, currency="usd")
    PointsPackageFactory(name="Euros", points=1000, price_cents=2000, currency="eur")

    values = {package.name: package.value for package in points_packages_valued()}

    assert values["Euros"].saving_percent == 0 and values["Euros"].compared_with == "Euros"


def test_a_later_catalog_page_links_back_to_the_first(client, db):
    ProductFactory.create_batch(30)

    first = client.get(reverse("shop:catalog")).content.decode()
    second = client.get(reverse("shop:catalog"), {"page": "2"}).content.decode()
    third = client.get(reverse("shop:catalog"), {"page": "3"}).content.decode()
    more = client.get(reverse("shop:catalog"), {"page": "2"}, headers={"HX-Request": "true"}).content.decode()

    assert "First page" not in first
    assert f'<a href="{reverse("shop:catalog")}">&larr; First page</a>' in second
    assert "Previous page" not in second and "Page 2" in second
    assert '<a href="?page=2">Previous page</a>' in third
    assert "First page" not in more  # "Show more" appends to page 1: no pager in the fragment
