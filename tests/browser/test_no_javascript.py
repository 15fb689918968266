"""The core flows with JavaScript off: every form posts and redirects, and every page shows the server's figures.
(A browser without JavaScript, or one whose shop.js/htmx failed to load.)"""

import re

import pytest
from playwright.sync_api import expect

from checkout.models import CheckoutSession
from orders.models import Order
from tests.browser.helpers import expect_badge_shows, sign_in
from tests.factories import PointsPackageFactory, ProductFactory, ShopperFactory, UserFactory, give_points
from tests.processes import wait_for
from wallet.selectors import HISTORY_PAGE_SIZE, wallet_balance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def context_options():
    return {"java_script_enabled": False}


def test_add_to_cart_and_pay_with_points_without_javascript(page, live_server):
    shopper = ShopperFactory(points=1000)
    product = ProductFactory(title="Harbour Lights", price_points=450)
    sign_in(page.context, shopper, base_url=live_server.url)
    page.goto(product.get_absolute_url())
    expect(page.locator("html")).not_to_have_class(re.compile(r"\bjs\b"))  # shop.js did not run

    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url("**/cart/")
    expect(page.get_by_text("Added to your cart.")).to_be_visible()
    expect(page.locator("#cart-badge")).to_contain_text("1")

    page.get_by_role("button", name="Pay 450 points").click()
    order = Order.objects.get(user=shopper)
    page.wait_for_url(f"**/orders/{order.pk}/")
    expect(page.get_by_text(f"Order {order.short_id} is paid.")).to_be_visible()
    assert order.status == "completed"
    expect_badge_shows(page, wallet_balance(user=shopper).current)
    expect_badge_shows(page, 550)
    expect(page.locator("#cart-badge")).to_contain_text("0")


def test_buy_a_points_package_through_the_demo_checkout_without_javascript(page, live_server, held_webhooks,
                                                                         celery_worker):
    shopper = UserFactory()
    package = PointsPackageFactory(name="Premium", points=550, price_cents=3999)
    sign_in(page.context, shopper, base_url=live_server.url)
    page.goto("/")

    page.get_by_role("link", name="Buy points").click()
    page.get_by_role("button", name="Buy Premium").click()
    expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
    page.get_by_role("button", name="Pay $39.99").click()
    expect(page.get_by_role("heading", name="Pay Pixel Shop")).to_be_visible()
    page.get_by_role("button", name="Pay $39.99").click()
    page.wait_for_url("**/checkout/*/result/")
    # No polling without JavaScript (and the webhook is held back): the page says so and offers "check again",
    # a form that has a worker ask Stripe and redirects back here (saying it is asking, unless the worker was
    # quicker than the redirect); the answer is there when the page is loaded again
    expect(page.get_by_role("heading", name="Payment pending")).to_be_visible()
    page.get_by_role("button", name="Check again").click()
    expect(page.get_by_text("Asking Stripe about your payment").or_(
        page.get_by_role("heading", name="Payment received"))).to_be_visible()
    wait_for(lambda: CheckoutSession.objects.get(user=shopper).status == "completed", timeout=20,
             what="the worker's check")
    page.reload()

    expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
    assert CheckoutSession.objects.get(user=shopper).status == "completed"
    expect_badge_shows(page, wallet_balance(user=shopper).current)
    expect_badge_shows(page, package.points)


def test_the_wallet_history_pages_with_links_without_javascript(page, live_server):
    shopper = UserFactory()
    for number in range(HISTORY_PAGE_SIZE + 1):
        give_points(shopper, 10, description=f"Grant {number}")
    sign_in(page.context, shopper, base_url=live_server.url)
    page.goto("/wallet/")
    expect(page.locator(".ledger-entry")).to_have_count(HISTORY_PAGE_SIZE)
    expect(page.get_by_role("button", name="Show older entries")).to_be_hidden()  # htmx's: it cannot work here

    page.get_by_role("link", name="Older entries").click()
    expect(page.locator(".ledger-entry")).to_have_count(1)
    expect(page.locator(".ledger-entry")).to_contain_text("Grant 0")
