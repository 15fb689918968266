"""The cart page stays true across tabs: it fetches itself again when another tab adds to the cart or pays
(BroadcastChannel), a pay from a tab that is behind says what happened, an open points-package checkout is not
ended by a card payment without asking, and a package chosen before logging in is still the one on offer after.
Screenshots at desktop and phone sizes go to test-artifacts/browser/."""

import re

import pytest
from playwright.sync_api import expect

from checkout.models import CheckoutSession
from orders.models import Order
from orders.services.card import order_checkout_start
from orders.services.cart import cart_add
from orders.services.placement import order_pay_with_points
from tests.browser.conftest import ARTIFACTS
from tests.browser.helpers import expect_badge_shows, mark_page, same_document, sign_in, submit_log_in
from tests.factories import PointsPackageFactory, ProductFactory, ShopperFactory
from wallet.services import points_purchase_start

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SIZES = [pytest.param((1280, 800), id="desktop"), pytest.param((390, 844), id="phone")]

# Counts the changes made inside the cart's status region, and marks the node so that a replaced one shows.
WATCH_STATUS = """() => {
    const region = document.getElementById("cart-status");
    region.__kept = true;
    window.__statusChanges = 0;
    new MutationObserver((records) => { window.__statusChanges += records.length; })
        .observe(region, {childList: true, subtree: true, characterData: true});
}"""


def status_changes(page) -> int:
    return page.evaluate("window.__statusChanges")


def status_region_kept(page) -> bool:
    return page.evaluate("document.getElementById('cart-status').__kept === true")


def shoot(page, name, size):
    page.screenshot(path=ARTIFACTS / f"live-cart-{name}-{size[0]}.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= size[0], "wider than the screen"


@pytest.mark.parametrize("size", SIZES)
def test_the_cart_page_in_another_tab_follows_adds_and_payments(page, live_server, size):
    shopper = ShopperFactory(points=1000)
    harbour = ProductFactory(title="Harbour Lights", price_points=450, price_cents=499)
    bloom = ProductFactory(title="Desert Bloom", price_points=280, price_cents=299)
    cart_add(user=shopper, product_id=harbour.pk)
    sign_in(page.context, shopper, base_url=live_server.url)
    page.set_viewport_size({"width": size[0], "height": size[1]})
    cart_tab = page
    cart_tab.goto("/cart/")
    expect(cart_tab.locator(".points-after")).to_contain_text("You have 1,000 points; 550 points after this purchase.")
    mark_page(cart_tab)
    cart_tab.evaluate(WATCH_STATUS)
    other_tab = page.context.new_page()
    other_tab.set_viewport_size({"width": size[0], "height": size[1]})

    # when: the other tab adds a picture
    other_tab.goto(bloom.get_absolute_url())
    other_tab.get_by_role("button", name="Add to cart").click()
    expect(other_tab.locator("#add-to-cart-result")).to_contain_text("Added to your cart")

    # then: the cart tab, untouched, lists it with the new totals and points after paying
    expect(cart_tab.locator("#cart-line-%d" % bloom.pk)).to_contain_text("Desert Bloom")
    expect(cart_tab.locator(".cart-total-points")).to_have_text("730 points")
    expect(cart_tab.locator(".points-after")).to_contain_text("You have 1,000 points; 270 points after this purchase.")
    expect(cart_tab.get_by_role("button", name="Pay 730 points")).to_be_visible()
    assert same_document(cart_tab) and status_region_kept(cart_tab)
    assert status_changes(cart_tab) == 0, "nothing new to say: the status region was left alone"
    shoot(cart_tab, "followed-an-add", size)

    # when: the other tab pays the cart with points
    other_tab.goto("/cart/")
    other_tab.get_by_role("button", name="Pay 730 points").click()
    expect(other_tab.get_by_text("is paid")).to_be_visible()
    order = Order.objects.get(user=shopper)

    # then: the cart tab says its cart was paid, links the order, and its header agrees
    status = cart_tab.locator("#cart-status")
    expect(status).to_contain_text(f"This cart was paid a moment ago: order {order.short_id}")
    expect(status.get_by_role("link", name=f"order {order.short_id}")).to_have_attribute(
        "href", f"/orders/{order.pk}/")
    expect(cart_tab.get_by_role("button", name=re.compile("^Pay"))).to_have_count(0)
    expect_badge_shows(cart_tab, 270)
    expect(cart_tab.locator("#cart-badge")).to_have_attribute("data-count", "0")
    assert same_document(cart_tab)
    assert status_region_kept(cart_tab), "the status region stayed in place (a replaced one is not announced)"
    changes = status_changes(cart_tab)
    assert changes > 0

    # when: the tab is shown again, which fetches everything again with nothing new
    cart_tab.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    cart_tab.wait_for_load_state("networkidle")

    # then: it still says what happened, and says it no second time
    expect(status).to_contain_text(f"This cart was paid a moment ago: order {order.short_id}")
    assert status_changes(cart_tab) == changes
    shoot(cart_tab, "followed-a-payment", size)
    other_tab.close()


@pytest.mark.parametrize("button, size", [
    pytest.param("Pay 450 points", (1280, 800), id="points-desktop"),
    pytest.param("Pay $4.99 by card", (390, 844), id="card-phone"),
])
def test_paying_from_a_tab_that_missed_the_payment_says_what_happened(page, live_server, button, size):
    shopper = ShopperFactory(points=1000)
    cart_add(user=shopper, product_id=ProductFactory(title="Harbour Lights", price_points=450, price_cents=499).pk)
    sign_in(page.context, shopper, base_url=live_server.url)
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto("/cart/")
    # given: the cart is paid where this tab hears nothing of it (another device)
    order = order_pay_with_points(user=shopper, idempotency_key=f"points:{shopper.pk}:elsewhere")

    page.get_by_role("button", name=button).click()

    status = page.locator("#cart-status")
    expect(status).to_contain_text(f"This cart was paid a moment ago: order {order.short_id}")
    expect(page.get_by_text("Your cart is empty")).to_have_count(0)
    expect(page.get_by_text("Nothing else is in your cart.")).to_be_visible()
    expect_badge_shows(page, 550)  # the header caught up too
    shoot(page, f"stale-{'card' if 'card' in button else 'points'}", size)
    assert Order.objects.filter(user=shopper).count() == 1
    assert not CheckoutSession.objects.filter(user=shopper).exists()
    page.get_by_role("link", name="Go to your downloads").click()
    expect(page.get_by_role("heading", name=f"Order {order.short_id}")).to_be_visible()


@pytest.mark.parametrize("size", SIZES)
def test_a_card_payment_offers_both_ways_when_a_package_checkout_is_open(page, live_server, size):
    shopper = ShopperFactory()
    cart_add(user=shopper, product_id=ProductFactory(title="Harbour Lights", price_cents=499).pk)
    premium = points_purchase_start(user=shopper, package=PointsPackageFactory(name="Premium")).session
    sign_in(page.context, shopper, base_url=live_server.url)
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto("/cart/")

    # when: the shopper pays by card
    page.get_by_role("button", name="Pay $4.99 by card").click()

    # then: the cart says a package checkout is open, and offers both ways on
    expect(page.get_by_role("heading", name="You have a checkout open for Premium")).to_be_visible()
    shoot(page, "package-open", size)
    premium.refresh_from_db()
    assert premium.status == "active"

    # one way: continue the package purchase
    page.get_by_role("link", name="Continue buying Premium").click()
    expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
    assert page.url.endswith(f"/checkout/{premium.pk}/")

    # the other: back to the cart, and replace it with this order
    page.goto("/cart/")
    page.get_by_role("button", name="Pay $4.99 by card").click()
    page.get_by_role("button", name=re.compile("^Replace it with this order")).click()
    expect(page.get_by_role("heading", name="Pay Pixel Shop")).to_be_visible()
    premium.refresh_from_db()
    assert premium.status == "invalidated"
    assert CheckoutSession.objects.get(user=shopper, status="active").kind == "cart"


@pytest.mark.parametrize("size", SIZES)
def test_the_package_chosen_before_logging_in_is_the_one_on_offer_after(page, live_server, size):
    shopper = ShopperFactory()
    PointsPackageFactory(name="Starter", points=100, price_cents=499)
    PointsPackageFactory(name="Premium", points=1200, price_cents=3999)
    # given: a card payment for a cart is open (the shopper started paying by card earlier)
    cart_add(user=shopper, product_id=ProductFactory(title="Harbour Lights", price_cents=499).pk)
    card = order_checkout_start(user=shopper, idempotency_key=f"card:{shopper.pk}:earlier")
    order = Order.objects.get(user=shopper)
    page.set_viewport_size({"width": size[0], "height": size[1]})

    # when: signed out, the shopper picks Premium, logs in
    page.goto("/points/")
    page.get_by_role("article").filter(has_text="Premium").get_by_role("link", name="Log in to buy").click()
    submit_log_in(page, shopper)

    # then: the package page has Premium chosen, and names the open card payment with both ways on
    expect(page.locator(".chosen-package")).to_contain_text("You chose Premium")
    expect(page.get_by_text(f"Your checkout is for Order {order.short_id}")).to_have_count(0)
    expect(page.get_by_role("heading", name=f"You have a card payment open for Order {order.short_id}")).to_be_visible()
    expect(page.get_by_role("link", name=f"Continue paying for Order {order.short_id}")).to_have_attribute(
        "href", f"/orders/{order.pk}/")
    expect(page.locator(".package-card.selected")).to_contain_text("Premium")
    shoot(page, "package-after-log-in", size)

    # when: the shopper buys Premium instead
    page.get_by_role("button", name="Buy Premium instead").click()

    # then: the review is for Premium, and the card payment ended (its order cancelled)
    expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Premium")
    card.refresh_from_db()
    assert card.status == "invalidated"
    assert Order.objects.get(user=shopper).status == "cancelled"
