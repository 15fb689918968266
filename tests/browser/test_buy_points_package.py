"""Buying a points package through the demo checkout changes the header balance without
a reload, to exactly the figure the server holds."""

import pytest
from playwright.sync_api import expect

from checkout.models import CheckoutSession
from tests.browser.helpers import (
    assert_nothing_in_client_storage,
    buy_package_on_the_demo_page,
    expect_badge_shows,
    mark_page,
    same_document,
    sign_in,
)
from tests.factories import PointsPackageFactory, UserFactory
from wallet.selectors import wallet_balance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_header_balance_becomes_the_servers_figure_without_a_reload(page, live_server, held_webhooks):
    # given: a shopper with no points, and a package on sale
    shopper = UserFactory()
    package = PointsPackageFactory(name="Premium", points=550, price_cents=3999)
    sign_in(page.context, shopper, base_url=live_server.url)
    page.goto("/")
    expect_badge_shows(page, 0)

    # when: they pay on the demo hosted page and come back before Stripe's webhook has arrived
    buy_package_on_the_demo_page(page, package)
    expect(page.get_by_role("heading", name="Payment pending")).to_be_visible()
    expect_badge_shows(page, 0)
    mark_page(page)
    # ... and then the webhook arrives: a signed POST to our endpoint, as Stripe sends it
    assert held_webhooks.post(held_webhooks.take("checkout.session.completed")).status_code == 200

    # then: the page updates itself, and the header badge shows exactly what the database holds
    expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
    balance = wallet_balance(user=shopper).current
    assert balance == package.points
    expect_badge_shows(page, balance)
    expect(page.locator(".checkout-balance")).to_have_attribute("data-balance", str(balance))
    assert same_document(page), "the page was reloaded"
    assert CheckoutSession.objects.get(user=shopper).status == "completed"
    assert_nothing_in_client_storage(page)
