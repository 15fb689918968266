"""A failing request (a 5xx, or no answer at all) shows an error with a Retry, and the
retry works."""

import pytest
from playwright.sync_api import expect

from orders.models import Order
from orders.services.cart import cart_add
from tests.browser.helpers import expect_badge_shows, mark_page, same_document, sign_in
from tests.factories import ProductFactory, ShopperFactory, give_points
from wallet.selectors import wallet_balance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fail_first(page, url_glob: str, fail):
    """Route ``url_glob``: its first request fails with ``fail(route)``, later ones reach the live server."""
    failed = []

    def handler(route):
        if failed:
            route.continue_()
        else:
            failed.append(route.request.method)
            fail(route)

    page.route(url_glob, handler)
    return failed


def test_a_server_error_on_pay_shows_the_error_and_retry_places_the_order_once(page, live_server):
    shopper = ShopperFactory(points=1000)
    cart_add(user=shopper, product_id=ProductFactory(title="Harbour Lights", price_points=450).pk)
    sign_in(page.context, shopper, base_url=live_server.url)
    failed = fail_first(page, "**/cart/pay/points/", lambda route: route.fulfill(
        status=500, content_type="text/html", body="<h1>Server Error (500)</h1>"))
    page.goto("/cart/")
    mark_page(page)

    # when: paying fails with a 500
    page.get_by_role("button", name="Pay 450 points").click()

    # then: the shopper is told, nothing is swapped in, nothing changed
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Something went wrong on our side")
    assert failed == ["POST"]
    expect(page.get_by_role("button", name="Pay 450 points")).to_be_enabled()
    expect_badge_shows(page, 1000)
    assert not Order.objects.filter(user=shopper).exists()

    # when: they retry
    alert.get_by_role("button", name="Retry").click()

    # then: the same form is sent again and the order is paid once
    expect(page.get_by_text("is paid")).to_be_visible()
    expect(alert).to_have_count(0)
    expect_badge_shows(page, wallet_balance(user=shopper).current)
    expect_badge_shows(page, 550)
    assert Order.objects.filter(user=shopper, status="completed").count() == 1
    assert same_document(page)


def test_a_fragment_that_cannot_be_reached_shows_the_error_and_retry_fetches_it(page, live_server):
    shopper = ShopperFactory(points=300)
    sign_in(page.context, shopper, base_url=live_server.url)
    page.goto("/wallet/")
    expect_badge_shows(page, 300)
    mark_page(page)
    failed = fail_first(page, "**/wallet/balance/", lambda route: route.abort("connectionfailed"))

    # when: points arrive while the tab is in the background, and the network drops as the shopper comes back
    give_points(shopper, 200, description="Goodwill")
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")

    # then: the badge keeps its last figure and the shopper is told the shop could not be reached; the other
    # fragments loading fine meanwhile does not hide that
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("We couldn't reach the shop")
    expect(page.locator("#balance-card [data-balance]")).to_have_attribute("data-balance", "500")
    assert failed == ["GET"]
    expect(alert).to_be_visible()
    expect_badge_shows(page, 300)

    # when: they retry, the badge is fetched again and shows the server's figure
    alert.get_by_role("button", name="Retry").click()
    expect_badge_shows(page, wallet_balance(user=shopper).current)
    expect_badge_shows(page, 500)
    expect(alert).to_have_count(0)
    assert same_document(page)
