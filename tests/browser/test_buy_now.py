"""Buying once, in the browser, at phone and desktop sizes: "Buy now" with points and by card through the demo
payment page, the owned product offering its download (product page, catalog, library), and cancelling on the
payment page releasing the reserved copy at once. Each step's screenshot goes to test-artifacts/browser/."""

import pytest
from playwright.sync_api import expect

from orders.models import CartItem, Order
from shop.models import Product
from tests.browser.conftest import ARTIFACTS
from tests.browser.helpers import sign_in
from tests.factories import ProductFactory, ShopperFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SIZES = pytest.mark.parametrize("width, height", [(390, 844), (1280, 800)])


def shot(page, name, width):
    page.screenshot(path=ARTIFACTS / f"buying-{name}-{width}.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} is wider than the screen"


@SIZES
def test_buy_now_with_points_then_the_product_is_owned_everywhere(page, live_server, celery_worker, width, height):
    shopper = ShopperFactory(points=1000)
    product = ProductFactory(title="Harbour Lights", price_points=450, price_cents=499)
    sign_in(page.context, shopper, base_url=live_server.url)
    page.set_viewport_size({"width": width, "height": height})

    page.goto(product.get_absolute_url())
    shot(page, "product-for-sale", width)
    page.get_by_role("button", name="Buy now with 450 points").click()

    expect(page.get_by_text("is paid with points")).to_be_visible()
    order = Order.objects.get(user=shopper)
    expect(page).to_have_url(f"{live_server.url}/orders/{order.pk}/")
    expect(page.get_by_role("link", name="Download Harbour Lights")).to_be_visible()
    expect(page.locator("#balance-badge")).to_have_text("550 points")
    assert not CartItem.objects.filter(user=shopper).exists()  # no cart detour

    page.goto(product.get_absolute_url())
    owned = page.locator("#owned")
    expect(owned).to_contain_text("You own this")
    assert owned.get_by_role("link", name="Download", exact=True).get_attribute("href").startswith("/downloads/")
    expect(page.get_by_role("button", name="Add to cart")).to_have_count(0)
    expect(page.get_by_role("button", name="Buy now with 450 points")).to_have_count(0)
    shot(page, "product-owned", width)

    page.goto("/")
    card = page.locator(".product-card").filter(has_text="Harbour Lights")
    expect(card).to_contain_text("You own this")
    shot(page, "catalog-owned", width)
    card.get_by_role("link", name="Download", exact=True).click()

    expect(page.get_by_role("heading", name="Your downloads")).to_be_visible()
    entry = page.locator(f"#product-{product.pk}")
    expect(entry).to_contain_text("Harbour Lights")
    with page.expect_download() as download:
        entry.get_by_role("link", name="Download Harbour Lights").click()
    assert download.value.suggested_filename
    shot(page, "library", width)


@SIZES
def test_buy_now_by_card_through_the_demo_payment_page(page, live_server, celery_worker, width, height):
    shopper = ShopperFactory()
    product = ProductFactory(title="Desert Bloom", price_points=280, price_cents=299, stock=3)
    other = ProductFactory(title="In The Cart")
    CartItem.objects.create(user=shopper, product=other)
    sign_in(page.context, shopper, base_url=live_server.url)
    page.set_viewport_size({"width": width, "height": height})

    page.goto(product.get_absolute_url())
    page.get_by_role("button", name="Buy now by card ($2.99)").click()

    expect(page.get_by_role("heading", name="Pay Pixel Shop")).to_be_visible()
    assert Product.objects.get(pk=product.pk).stock == 2  # held while the shopper pays
    page.screenshot(path=ARTIFACTS / f"buying-demo-payment-page-{width}.png", full_page=True)
    page.get_by_role("button", name="Pay $2.99").click()

    order = Order.objects.get(user=shopper)
    expect(page).to_have_url(f"{live_server.url}/orders/{order.pk}/")
    expect(page.get_by_role("link", name="Download Desert Bloom")).to_be_visible()
    assert Order.objects.get(pk=order.pk).status == "completed"
    assert list(CartItem.objects.filter(user=shopper).values_list("product_id", flat=True)) == [other.pk]
    shot(page, "card-order-paid", width)


@SIZES
def test_cancelling_on_the_payment_page_releases_the_copy_and_lands_on_the_cart(page, live_server, width, height):
    shopper = ShopperFactory()
    edition = ProductFactory(title="Last Light", price_cents=1500, stock=1)
    CartItem.objects.create(user=shopper, product=edition)
    sign_in(page.context, shopper, base_url=live_server.url)
    page.set_viewport_size({"width": width, "height": height})

    page.goto("/cart/")
    page.get_by_role("button", name="Pay $15.00 by card").click()
    expect(page.get_by_role("heading", name="Pay Pixel Shop")).to_be_visible()
    assert Product.objects.get(pk=edition.pk).stock == 0  # the last copy, held for this shopper
    page.get_by_role("button", name="Cancel and go back to the shop").click()

    expect(page).to_have_url(f"{live_server.url}/cart/")
    order = Order.objects.get(user=shopper)
    expect(page.get_by_text(f"order {order.short_id} is cancelled and nothing was charged")).to_be_visible()
    expect(page.locator(".cart-line")).to_contain_text("Last Light")
    assert order.status == "cancelled"
    assert Product.objects.get(pk=edition.pk).stock == 1  # back on sale at once, not after 24 hours
    shot(page, "payment-cancelled-cart", width)

    # the abandoned attempt is out of the way on "Your orders"
    page.goto("/orders/")
    expect(page.get_by_text(order.short_id)).to_have_count(0)
    page.get_by_role("link", name="Show abandoned attempts").click()
    expect(page.get_by_role("link", name=order.short_id)).to_be_visible()
    shot(page, "abandoned-attempts", width)
