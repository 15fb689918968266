"""Tabs of one browser. Spending in one updates the others -- header badge, wallet balance
and history, a paid checkout's balance, the orders list -- over BroadcastChannel; and a tab brought to the front
fetches its fragments again (visibilitychange). Each mechanism is shown on its own."""

import pytest
from playwright.sync_api import expect

from orders.services.cart import cart_add
from tests.browser.helpers import (
    assert_nothing_in_client_storage,
    balance_events,
    expect_badge_shows,
    mark_page,
    record_balance_events,
    same_document,
    sign_in,
)
from tests.factories import CheckoutSessionFactory, ProductFactory, ShopperFactory, give_points
from wallet.selectors import wallet_balance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def show_tab(page):
    """Bring the tab to the front. Headless Chromium keeps every page "visible" and fires no visibilitychange when
    tabs switch, so the event a real browser fires here is dispatched by hand."""
    page.bring_to_front()
    assert page.evaluate("document.visibilityState") == "visible"
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")


def test_spending_in_one_tab_updates_the_others_and_a_tab_catches_up_when_shown(page, live_server):
    shopper = ShopperFactory(points=1000)
    product = ProductFactory(title="Harbour Lights", price_points=450)
    cart_add(user=shopper, product_id=product.pk)
    sign_in(page.context, shopper, base_url=live_server.url)
    cart_tab = page
    cart_tab.goto("/cart/")
    wallet_tab = page.context.new_page()
    wallet_tab.goto("/wallet/")
    expect_badge_shows(wallet_tab, 1000)
    mark_page(wallet_tab)
    record_balance_events(wallet_tab)
    orders_tab = page.context.new_page()
    orders_tab.goto("/orders/")
    expect(orders_tab.get_by_text("No orders yet.")).to_be_visible()
    paid_tab = page.context.new_page()  # still showing an earlier points purchase
    paid_tab.goto(f"/checkout/{CheckoutSessionFactory(user=shopper, status='completed').pk}/result/")
    expect(paid_tab.locator("#checkout-balance")).to_have_attribute("data-balance", "1000")

    # when: the shopper pays with points in the cart tab
    show_tab(cart_tab)
    cart_tab.get_by_role("button", name="Pay 450 points").click()
    expect(cart_tab.get_by_text("is paid")).to_be_visible()

    # then: the wallet tab, untouched, shows the server's new balance in its badge and its balance card
    balance = wallet_balance(user=shopper).current
    assert balance == 550
    expect_badge_shows(wallet_tab, balance)
    expect(wallet_tab.locator("#balance-card [data-balance]")).to_have_attribute("data-balance", str(balance))
    expect(wallet_tab.locator(".ledger-entry").first).to_contain_text("Order ")
    assert balance_events(wallet_tab) == ["other-tab"], "the update came over BroadcastChannel"
    assert same_document(wallet_tab)
    expect(paid_tab.locator("#checkout-balance")).to_have_attribute("data-balance", str(balance))
    expect(paid_tab.locator("#checkout-balance")).to_have_text("550 points")
    expect(orders_tab.locator(".orders-table tbody tr")).to_have_count(1)
    expect(orders_tab.locator(".orders-table .status")).to_have_text("Completed")

    # when: points arrive where no tab hears of it (staff credit them, or another device), and the cart tab is in
    # front...
    give_points(shopper, 200, description="Goodwill")
    expect_badge_shows(cart_tab, 550)
    # ... and the shopper switches to the wallet tab
    show_tab(wallet_tab)

    # then: the wallet tab asked the server again, and shows its figure
    expect_badge_shows(wallet_tab, wallet_balance(user=shopper).current)
    expect_badge_shows(wallet_tab, 750)
    expect(wallet_tab.locator("#balance-card [data-balance]")).to_have_attribute("data-balance", "750")
    expect(wallet_tab.locator(".ledger-entry").first).to_contain_text("Goodwill")
    expect(wallet_tab.locator(".ledger-entry")).to_have_count(3)
    assert balance_events(wallet_tab) == ["other-tab", "visible-again"]
    assert same_document(wallet_tab)
    # ... and the cart tab, which was not shown again, catches up when it is
    expect_badge_shows(cart_tab, 550)
    show_tab(cart_tab)
    expect_badge_shows(cart_tab, 750)
    assert_nothing_in_client_storage(wallet_tab)
