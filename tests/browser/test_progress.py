"""Every htmx action shows progress while in flight: its button is disabled (no double submit) and an indicator
says something is happening. Observed from inside the request, while the server has not answered yet."""

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import buy_package_on_the_demo_page, sign_in
from tests.factories import PointsPackageFactory, ProductFactory, ShopperFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IN_FLIGHT_STATE = """(form) => {
    const button = form.querySelector("button[type=submit]");
    // An indicator is on while an element around it (or itself) carries htmx's request class; its opacity fades
    // in, so the class (not the opacity at this instant) is what is checked.
    const indicators = [...document.querySelectorAll(".htmx-indicator")].filter((element) =>
        element.closest(".htmx-request") && getComputedStyle(element).display !== "none");
    return {
        disabled: button.disabled,
        busy: form.getAttribute("aria-busy"),
        spinner: getComputedStyle(button, "::after").content !== "none",
        indicators: indicators.map((element) => element.textContent.trim()),
    };
}"""


def while_in_flight(page, url_glob: str, form_selector: str) -> list[dict]:
    """What the form looks like while its request to ``url_glob`` is held, before it goes on to the server."""
    seen = []

    def handler(route):
        seen.append(page.locator(form_selector).evaluate(IN_FLIGHT_STATE))
        route.continue_()

    page.route(url_glob, handler)
    return seen


def test_add_to_cart_and_pay_disable_their_button_and_show_progress_while_in_flight(page, live_server):
    shopper = ShopperFactory(points=1000)
    product = ProductFactory(title="Harbour Lights", price_points=450)
    sign_in(page.context, shopper, base_url=live_server.url)

    page.goto(product.get_absolute_url())
    adding = while_in_flight(page, "**/cart/add/", "form.add-to-cart")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#add-to-cart-result")).to_contain_text("Added to your cart")
    assert adding == [{"disabled": True, "busy": "true", "spinner": True, "indicators": []}]
    expect(page.get_by_role("button", name="Add to cart")).to_be_enabled()

    page.goto("/cart/")
    paying = while_in_flight(page, "**/cart/pay/points/", "#pay-panel form[action=\"/cart/pay/points/\"]")
    page.get_by_role("button", name="Pay 450 points").click()
    expect(page.get_by_text("is paid")).to_be_visible()
    assert paying == [{"disabled": True, "busy": "true", "spinner": True, "indicators": ["Placing your order…"]}]
    expect(page.locator("#balance-badge")).to_have_text("550 points")


def test_check_again_disables_its_button_and_says_it_is_asking_stripe(page, live_server, held_webhooks,
                                                                      celery_worker):
    shopper = UserFactory()
    package = PointsPackageFactory(name="Starter", points=120, price_cents=999)
    sign_in(page.context, shopper, base_url=live_server.url)
    page.goto("/")
    buy_package_on_the_demo_page(page, package)  # the webhook is held back: the page says "pending"
    expect(page.get_by_role("heading", name="Payment pending")).to_be_visible()

    checking = while_in_flight(page, "**/check/", "form.check-again")
    page.get_by_role("button", name="Check again").click()

    # "Check again" has a worker ask Stripe, which says the session is paid: the page's poll shows the credit
    expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
    assert checking == [{"disabled": True, "busy": "true", "spinner": True, "indicators": ["Asking Stripe…"]}]
    expect(page.locator("#balance-badge")).to_have_text("120 points")
