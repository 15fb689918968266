"""A shopper whose session ended (logged out in another tab, expired) is sent to log in by the next htmx request,
and back to the page they were on -- not to the fragment's URL, and never with the log-in page swapped into a
fragment."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from orders.models import CartItem
from orders.services.cart import cart_add
from tests.browser.helpers import expect_badge_shows, sign_in, submit_log_in
from tests.factories import ProductFactory, ShopperFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def end_session(page):
    """The session cookie goes (as after logging out elsewhere or an expiry); the CSRF cookie stays."""
    page.context.clear_cookies(name=settings.SESSION_COOKIE_NAME)


def test_an_action_after_the_session_ended_goes_to_log_in_and_back(page, live_server):
    shopper = UserFactory()
    cart_add(user=shopper, product_id=ProductFactory(title="Harbour Lights").pk)
    sign_in(page.context, shopper, base_url=live_server.url)
    page.goto("/cart/")
    end_session(page)

    page.get_by_role("button", name="Remove Harbour Lights").click()

    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=%2Fcart%2F$"))
    expect(page.locator("#cart-body")).to_have_count(0)
    assert CartItem.objects.filter(user=shopper).count() == 1  # nothing was done while signed out
    submit_log_in(page, shopper)
    page.wait_for_url("**/cart/")
    expect(page.get_by_role("link", name="Harbour Lights")).to_be_visible()


def test_a_fragment_refresh_after_the_session_ended_goes_to_log_in_and_back(page, live_server):
    shopper = ShopperFactory(points=300)
    sign_in(page.context, shopper, base_url=live_server.url)
    page.goto("/wallet/")
    end_session(page)

    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # the tab is shown again: fragments refresh

    # (each fragment that refreshed answers with the same redirect: the page ends on the log-in form once)
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=%2Fwallet%2F$"))
    submit_log_in(page, shopper)
    page.wait_for_url("**/wallet/")
    expect_badge_shows(page, 300)
