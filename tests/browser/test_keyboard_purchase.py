"""A purchase with the keyboard alone: from the catalog, log in, open a product, add it to the cart, go to the cart
and pay with points -- only Tab, Shift+Tab, Enter and typing, never a click. Wherever focus lands on the way it is
visible: the element matches :focus-visible and draws an outline."""

import re

import pytest
from playwright.sync_api import expect

from orders.models import Order
from tests.browser.conftest import ARTIFACTS
from tests.factories import TEST_PASSWORD, ProductFactory, ShopperFactory
from wallet.selectors import wallet_balance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MAX_TABS = 60

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const label = el.labels && el.labels.length ? el.labels[0].textContent : "";
  const style = getComputedStyle(el);
  return {name: (el.getAttribute("aria-label") || label || el.textContent || "").replace(/\\s+/g, " ").trim(),
          tag: el.tagName.toLowerCase(), focusVisible: el.matches(":focus-visible"),
          outline: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth)};
}"""


def focused(page) -> dict | None:
    return page.evaluate(FOCUSED)


def assert_focus_is_visible(element: dict):
    assert element["focusVisible"], f"{element['name']!r} is focused but not :focus-visible"
    assert element["outline"] != "none" and element["outlineWidth"] >= 2, \
        f"{element['name']!r} shows no focus outline: {element}"


def tab_to(page, name: str | re.Pattern, *, backwards: bool = False) -> dict:
    """Press Tab (Shift+Tab backwards) until the focused element's accessible name is ``name`` (none when the page
    put focus there itself, as the log-in form does with its first field); every element passed on the way shows
    its focus too."""
    key = "Shift+Tab" if backwards else "Tab"
    seen = []
    for presses in range(MAX_TABS + 1):
        if presses:
            page.keyboard.press(key)
        element = focused(page)
        if element is None:
            continue
        assert_focus_is_visible(element)
        seen.append(element["name"])
        if (name.search(element["name"]) if isinstance(name, re.Pattern) else element["name"] == name):
            return element
    raise AssertionError(f"{key} never reached {name!r}; focus went through {seen}")


@pytest.mark.parametrize("width, height", [(1280, 800), (390, 844)])
def test_a_shopper_buys_with_points_using_only_the_keyboard(page, width, height):
    shopper = ShopperFactory(points=1000)
    ProductFactory(title="Desert Bloom", price_points=280)
    product = ProductFactory(title="Harbour Lights", price_points=450)
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/")

    # log in: the header's link (on a phone, inside the header's Menu), the form filled in by typing, Tab past the
    # button and Shift+Tab back to it
    if width < 600:
        tab_to(page, "Menu")
        page.keyboard.press("Enter")
    tab_to(page, "Log in")
    page.keyboard.press("Enter")
    page.wait_for_url("**/accounts/login/")
    tab_to(page, "Email address")
    page.keyboard.type(shopper.email)
    tab_to(page, "Password")
    page.keyboard.type(TEST_PASSWORD)
    tab_to(page, "Create an account")
    tab_to(page, "Log in", backwards=True)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"^https?://[^/]+/$"))
    expect(page.locator("#balance-badge")).to_have_attribute("data-balance", "1000")

    # the product, from its card in the catalog; into the cart
    tab_to(page, product.title)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{product.get_absolute_url()}")
    tab_to(page, "Add to cart")
    page.keyboard.press("Enter")
    expect(page.locator("#add-to-cart-result")).to_contain_text("Added to your cart")
    expect(page.locator("#cart-badge")).to_have_attribute("data-count", "1")

    # the cart, from the header's badge; pay with points
    tab_to(page, re.compile(r"^Cart 1 item$"))
    page.keyboard.press("Enter")
    page.wait_for_url("**/cart/")
    tab_to(page, "Pay 450 points")
    page.keyboard.press("Enter")
    expect(page.get_by_text("is paid")).to_be_visible()
    expect(page.locator("#balance-badge")).to_have_attribute("data-balance", "550")
    page.screenshot(path=ARTIFACTS / f"keyboard-purchase-paid-{width}.png", full_page=True)

    order = Order.objects.get(user=shopper)
    assert (order.status, order.payment_method, order.total_points) == ("completed", "points", 450)
    assert [item.product_id for item in order.items.all()] == [product.pk]
    assert wallet_balance(user=shopper).current == 550
